namespace Ray.Gpu.Collectives.SharedMemory;

/// <summary>
/// A single-producer single-consumer byte ring in the mapped segment. <c>Head</c> (bytes ever
/// written, owned by the sender) and <c>Tail</c> (bytes ever consumed, owned by the receiver) live
/// on separate cache lines and only grow; the data offset of a position is position mod capacity
/// (a power of two). Messages are a 64-byte <see cref="ShmMessageHeader"/> at a 64-byte aligned
/// position followed by the payload; a message may be larger than the ring, so the payload streams
/// through it in segments while the receiver consumes (reduces or copies) what has arrived.
/// </summary>
internal readonly unsafe struct ShmRing(byte* control, long capacity)
{
    public long Capacity => capacity;

    public ref long Head => ref *(long*)control;

    public ref long Tail => ref *(long*)(control + 64);

    /// <summary>Address of the byte at ring position <paramref name="position"/>.</summary>
    public byte* At(long position) => control + ShmSegment.RingControlBytes + (position & (capacity - 1));

    /// <summary>Bytes from <paramref name="position"/> to the end of the data area (before it wraps).</summary>
    public long Contiguous(long position) => capacity - (position & (capacity - 1));
}
