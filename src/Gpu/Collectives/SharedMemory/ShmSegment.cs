using Ray.Plasma.Native;
using System.Text;

namespace Ray.Gpu.Collectives.SharedMemory;

/// <summary>
/// The mapped segment of a shared-memory group: a header (geometry, the group's failure record),
/// one slot per rank (pid, start time, state, operation count, doorbell) and one SPSC ring per
/// ordered rank pair and channel (collective / point-to-point).
/// Layout: [0, 512) header; [512, 512 + 128 W) rank slots, each two cache lines (the owner's line,
/// then the doorbell line peers write); rings from the next 4 KiB boundary, each 128 bytes of
/// control (head on one cache line, tail on the next) followed by <see cref="RingBytes"/> of data.
/// Lifecycle: 1. rank 0 creates a temporary file, sizes, maps (populated) and initialises it, then
/// renames it into place (atomic: a reader sees a complete segment or none); 2. other ranks open
/// and validate it; 3. every rank claims its slot; 4. once all have joined rank 0 unlinks the
/// file (the mappings stay), so a crash later leaves nothing in the directory.
/// </summary>
internal sealed unsafe partial class ShmSegment : IDisposable
{
    internal const long Magic = 0x3130_4C4C_4F43_5952; // "RYCOLL01"
    internal const int SlotBytes = 128, SlotsOffset = 512, RingControlBytes = 128, DetailCapacity = 448;
    internal const int SlotEmpty = 0, SlotClaiming = 1, SlotJoined = 2, SlotLeft = 3;
    internal const int FailNone = 0, FailWriting = 1, FailPublished = 2;

    private readonly byte* _base;
    private readonly long _length;
    private readonly long _ringsOffset;
    private int _disposed;

    private ShmSegment(byte* @base, long length, int worldSize, long ringBytes, string path)
    {
        _base = @base;
        _length = length;
        WorldSize = worldSize;
        RingBytes = ringBytes;
        Path = path;
        _ringsOffset = RingsOffset(worldSize);
    }

    public int WorldSize { get; }

    public long RingBytes { get; }

    public string Path { get; }

    // ---- header fields ----
    private ref long MagicField => ref *(long*)_base;

    private ref int FailState => ref *(int*)(_base + 32);

    private ref int FailKind => ref *(int*)(_base + 36);

    private ref int FailRank => ref *(int*)(_base + 40);

    private ref int FailDetailLength => ref *(int*)(_base + 44);

    // ---- slots ----
    public ref int SlotState(int rank) => ref *(int*)Slot(rank);

    public ref int SlotPid(int rank) => ref *(int*)(Slot(rank) + 4);

    public ref long SlotStartTime(int rank) => ref *(long*)(Slot(rank) + 8);

    public ref long SlotEnteredOps(int rank) => ref *(long*)(Slot(rank) + 16);

    public int* Doorbell(int rank) => (int*)(Slot(rank) + 64);

    public ref int Sleeping(int rank) => ref *(int*)(Slot(rank) + 68);

    /// <summary>The ring carrying messages from <paramref name="from"/> to <paramref name="to"/>.</summary>
    public ShmRing Ring(int from, int to, bool pointToPoint)
    {
        int pairs = WorldSize * (WorldSize - 1);
        int index = (pointToPoint ? pairs : 0) + (from * (WorldSize - 1)) + (to < from ? to : to - 1);
        byte* control = _base + _ringsOffset + (index * (RingControlBytes + RingBytes));
        return new ShmRing(control, RingBytes);
    }

    /// <summary>Rings <paramref name="rank"/>'s doorbell if it is parked (or about to park).</summary>
    public void Wake(int rank)
    {
        // The caller published (head or tail) before this; the full fence orders that store before the
        // load of Sleeping (Dekker with the waiter's store of Sleeping before its load of the ring).
        Interlocked.MemoryBarrier();
        if (Volatile.Read(ref Sleeping(rank)) != 0)
        {
            Interlocked.Increment(ref *Doorbell(rank));
            ShmNative.FutexWakeAll(Doorbell(rank));
        }
    }

    private void WakeAll()
    {
        for (int rank = 0; rank < WorldSize; rank++)
        {
            Interlocked.Increment(ref *Doorbell(rank));
            ShmNative.FutexWakeAll(Doorbell(rank));
        }
    }

    // ---- the group's failure record: the first failure wins, on every process ----

    public bool IsFailed => Volatile.Read(ref FailState) != FailNone;

    /// <summary>Publishes a failure unless one is already there; wakes every rank.</summary>
    public void Fail(CollectiveErrorKind kind, int failedRank, string detail)
    {
        if (Interlocked.CompareExchange(ref FailState, FailWriting, FailNone) == FailNone)
        {
            FailKind = (int)kind;
            FailRank = failedRank;
            var bytes = new Span<byte>(_base + 48, DetailCapacity);
            int written = Encoding.UTF8.GetBytes(detail.Length > DetailCapacity / 2 ? detail[..(DetailCapacity / 2)] : detail, bytes);
            FailDetailLength = written;
            Volatile.Write(ref FailState, FailPublished);
        }

        WakeAll();
    }

    /// <summary>The published failure, or null; waits out a writer that is half-way through.</summary>
    public (CollectiveErrorKind Kind, int FailedRank, string Detail)? ReadFailure()
    {
        var spin = default(SpinWait);
        while (true)
        {
            int state = Volatile.Read(ref FailState);
            if (state == FailNone)
            {
                return null;
            }

            if (state == FailPublished)
            {
                string detail = Encoding.UTF8.GetString(new ReadOnlySpan<byte>(_base + 48, Math.Clamp(FailDetailLength, 0, DetailCapacity)));
                return ((CollectiveErrorKind)FailKind, FailRank, detail);
            }

            // A writer that died between claiming and publishing: give it a bounded time, then report that.
            if (spin.Count > 1000)
            {
                return (CollectiveErrorKind.RankDied, -1, "a rank died while publishing the group's failure");
            }

            spin.SpinOnce();
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            Libc.Munmap((nint)_base, (nuint)_length);
        }
    }

    private byte* Slot(int rank) => _base + SlotsOffset + (rank * SlotBytes);

    private static long RingsOffset(int worldSize) => AlignUp(SlotsOffset + ((long)worldSize * SlotBytes), 4096);

    private static long TotalBytes(int worldSize, long ringBytes) =>
        RingsOffset(worldSize) + (2L * worldSize * (worldSize - 1) * (RingControlBytes + ringBytes));

    private static long AlignUp(long value, long alignment) => (value + alignment - 1) / alignment * alignment;
}
