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

    internal long ResolveCapacity() => CapacityBytes ?? (long)(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes * 0.3);
}
