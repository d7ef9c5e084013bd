using Ray.Plasma.Native;

namespace Ray.Plasma.Store;

/// <summary>
/// The store's shared memory: one file (under /dev/shm by default) mapped into every process
/// of the node at its own address. Offsets, never pointers, cross process boundaries. The
/// owner pre-faults all pages with MAP_POPULATE: first touch costs a page fault per 4 KiB
/// (about 0.5 GB/s here), twenty times slower than a copy into warm pages.
/// </summary>
public sealed unsafe class PlasmaArena : IDisposable
{
    private nint _base;

    private PlasmaArena(string path, long capacity, nint address, bool owner)
    {
        Path = path;
        Capacity = capacity;
        _base = address;
        IsOwner = owner;
    }

    /// <summary>The mapped file.</summary>
    public string Path { get; }

    /// <summary>Bytes mapped.</summary>
    public long Capacity { get; }

    /// <summary>True for the store that created the file (and deletes it on dispose).</summary>
    public bool IsOwner { get; }

    /// <summary>The start of the mapping in this process.</summary>
    public byte* Base => (byte*)(_base != 0 ? _base : throw new ObjectDisposedException(nameof(PlasmaArena)));

    /// <summary>Creates the file and maps it, pre-faulting pages as <paramref name="prefault"/> says.</summary>
    public static PlasmaArena Create(string path, long capacity, PrefaultMode prefault = PrefaultMode.Eager)
    {
        if (capacity <= 0) throw new ArgumentOutOfRangeException(nameof(capacity), "capacity must be positive");
        var fd = Libc.Open(path, Libc.O_RDWR | Libc.O_CREAT | Libc.O_EXCL, 0x180 /* 0600 */);
        if (fd < 0) throw new IOException($"cannot create the plasma arena {path}: {Libc.LastError()}");
        try
        {
            if (Libc.Ftruncate(fd, capacity) != 0)
                throw new IOException($"cannot size the plasma arena {path} to {capacity} bytes: {Libc.LastError()}");
            var arena = new PlasmaArena(path, capacity, Map(fd, capacity, path, populate: false), owner: true);
            if (prefault == PrefaultMode.Eager) arena.Populate(0, capacity);
            else if (prefault == PrefaultMode.Background)
                new Thread(() => arena.Populate(0, capacity)) { IsBackground = true, Name = "plasma-prefault", Priority = ThreadPriority.BelowNormal }.Start();
            return arena;
        }
        catch
        {
            Libc.Unlink(path);
            throw;
        }
        finally { Libc.Close(fd); }
    }

    /// <summary>
    /// Maps an arena another process created (clients). The pages exist already; prefaulting
    /// only sets up this process's mappings (Eager: now; Background: on a low-priority thread).
    /// </summary>
    public static PlasmaArena Open(string path, long capacity, PrefaultMode prefault = PrefaultMode.None)
    {
        var fd = Libc.Open(path, Libc.O_RDWR, 0);
        if (fd < 0) throw new IOException($"cannot open the plasma arena {path}: {Libc.LastError()}");
        try
        {
            var arena = new PlasmaArena(path, capacity, Map(fd, capacity, path, populate: false), owner: false);
            if (prefault == PrefaultMode.Eager) arena.Populate(0, capacity);
            else if (prefault == PrefaultMode.Background)
                new Thread(() => arena.Populate(0, capacity)) { IsBackground = true, Name = "plasma-prefault", Priority = ThreadPriority.BelowNormal }.Start();
            return arena;
        }
        finally { Libc.Close(fd); }
    }

    private static nint Map(int fd, long capacity, string path, bool populate)
    {
        var flags = Libc.MAP_SHARED | (populate ? Libc.MAP_POPULATE : 0);
        var addr = Libc.Mmap(0, (nuint)capacity, Libc.PROT_READ | Libc.PROT_WRITE, flags, fd, 0);
        if (addr == Libc.MAP_FAILED) throw new IOException($"cannot map the plasma arena {path} ({capacity} bytes): {Libc.LastError()}");
        return addr;
    }

    /// <summary>
    /// Faults pages in, writable, without changing their bytes (MADV_POPULATE_WRITE), in 64 MiB
    /// steps so a background run yields to writers; safe while the arena is in use.
    /// </summary>
    internal void Populate(long from, long length)
    {
        const long step = 64L << 20;
        for (var o = from; o < from + length; o += step)
        {
            var b = _base;
            if (b == 0) return; // disposed meanwhile
            if (Libc.Madvise(b + (nint)o, (nuint)Math.Min(step, from + length - o), Libc.MADV_POPULATE_WRITE) != 0) return; // old kernel: fault on touch
        }
    }

    /// <summary>A span over part of the arena.</summary>
    public Span<byte> Slice(long offset, long length)
    {
        if (offset < 0 || length < 0 || offset + length > Capacity || length > int.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(offset), $"range {offset}+{length} is outside the arena of {Capacity} bytes");
        return new Span<byte>(Base + offset, (int)length);
    }

    /// <summary>Unmaps; the owner also removes the file.</summary>
    public void Dispose() => Dispose(retireInPlace: false);

    /// <summary>
    /// Unmaps, or with <paramref name="retireInPlace"/> (spans over the arena may still be in use
    /// on other threads) atomically replaces the range with read-only anonymous zero pages: the
    /// shared pages are freed, a stale reader sees zeros instead of faulting, and only the
    /// address range stays reserved.
    /// </summary>
    public void Dispose(bool retireInPlace)
    {
        var addr = Interlocked.Exchange(ref _base, 0);
        if (addr == 0) return;
        var replaced = retireInPlace &&
            Libc.Mmap(addr, (nuint)Capacity, Libc.PROT_READ, Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS | Libc.MAP_FIXED, -1, 0) == addr;
        if (!replaced) Libc.Munmap(addr, (nuint)Capacity);
        if (IsOwner) Libc.Unlink(Path);
    }
}
