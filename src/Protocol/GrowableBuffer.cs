using System.Buffers;

namespace Ray.Protocol;

/// <summary>A growable byte buffer that can be cut back (so a frame whose encoding failed half way is dropped whole).</summary>
internal sealed class GrowableBuffer(int initial) : IBufferWriter<byte>
{
    private byte[] _buffer = new byte[initial];

    internal int Count { get; private set; }

    internal Span<byte> Written => _buffer.AsSpan(0, Count);

    internal ReadOnlyMemory<byte> WrittenMemory => _buffer.AsMemory(0, Count);

    public void Advance(int count) => Count += count;

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsMemory(Count);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsSpan(Count);
    }

    internal void Truncate(int count) => Count = count;

    /// <summary>Empties the buffer; one that grew past 4 MiB for a big batch shrinks back.</summary>
    internal void Reset()
    {
        Count = 0;
        if (_buffer.Length > 4 << 20) _buffer = new byte[64 * 1024];
    }

    private void Ensure(int hint)
    {
        var need = Count + Math.Max(hint, 1);
        if (need <= _buffer.Length) return;
        var grown = new byte[Math.Max(need, (int)Math.Min(int.MaxValue - 64, _buffer.Length * 2L))];
        _buffer.AsSpan(0, Count).CopyTo(grown);
        _buffer = grown;
    }
}
