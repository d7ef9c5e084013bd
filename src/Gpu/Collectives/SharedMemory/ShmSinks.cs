using System.Numerics;
using Ray.Gpu.Kernels;

namespace Ray.Gpu.Collectives.SharedMemory;

/// <summary>What a receive does with bytes that arrived in a ring (straight out of the mapping).</summary>
internal unsafe interface IShmSink
{
    /// <summary>Bytes are consumed in multiples of this (an element, for reductions).</summary>
    int Granularity { get; }

    /// <summary>Consumes <paramref name="bytes"/> at <paramref name="source"/>, payload bytes <paramref name="offset"/> onwards.</summary>
    void Consume(byte* source, long offset, int bytes);
}

/// <summary>Copies the payload into the destination.</summary>
internal unsafe ref struct CopySink(Span<byte> destination) : IShmSink
{
    private readonly Span<byte> _destination = destination;

    public readonly int Granularity => 1;

    public readonly void Consume(byte* source, long offset, int bytes) =>
        new ReadOnlySpan<byte>(source, bytes).CopyTo(_destination.Slice((int)offset, bytes));
}

/// <summary><c>destination = op(x, payload)</c>, reduced directly out of the peer's ring (no staging copy).</summary>
internal unsafe ref struct CombineSink<T>(ReduceOp op, ReadOnlySpan<T> x, Span<T> destination) : IShmSink
    where T : unmanaged, INumber<T>
{
    private readonly ReadOnlySpan<T> _x = x;
    private readonly Span<T> _destination = destination;

    public readonly int Granularity => sizeof(T);

    public readonly void Consume(byte* source, long offset, int bytes)
    {
        int start = (int)(offset / sizeof(T));
        int count = bytes / sizeof(T);
        HostReduction.Combine(op, _x.Slice(start, count), new ReadOnlySpan<T>(source, count), _destination.Slice(start, count));
    }
}

/// <summary>A send without a receive.</summary>
internal unsafe ref struct NoSink : IShmSink
{
    public readonly int Granularity => 1;

    public readonly void Consume(byte* source, long offset, int bytes)
    {
    }
}
