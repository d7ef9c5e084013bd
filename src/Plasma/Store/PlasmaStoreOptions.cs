namespace Ray.Plasma.Store;

/// <summary>Where the store keeps its memory and spill files, and how much memory it uses.</summary>
public sealed record PlasmaStoreOptions
{
    /// <summary>Directory of the arena file; default /dev/shm (a tmpfs).</summary>
    public string Directory { get; init; } = "/dev/shm";

    /// <summary>Arena bytes; default 30 % of the machine's memory, as Ray's default.</summary>
    public long? CapacityBytes { get; init; }

    /// <summary>Directory for spilled objects; default a fresh folder under the temp directory.</summary>
    public string? SpillDirectory { get; init; }

    /// <summary>A name that makes the arena file unique; default a random one.</summary>
    public string? Name { get; init; }

    /// <summary>
    /// How the arena's pages are faulted in. A first touch costs a page fault per 4 KiB (about
    /// 0.5 GB/s here), so the default does it all at start-up.
    /// </summary>
    public PrefaultMode Prefault { get; init; } = PrefaultMode.Eager;

    internal long ResolveCapacity() => CapacityBytes ?? (long)(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes * 0.3);
}

/// <summary>When the arena's pages are faulted in.</summary>
public enum PrefaultMode
{
    /// <summary>All pages before the store is returned (start-up pays, every write is fast).</summary>
    Eager,
    /// <summary>A background thread faults pages in, lowest offsets first; the store is usable at once.</summary>
    Background,
    /// <summary>Pages fault on first touch.</summary>
    None,
}
