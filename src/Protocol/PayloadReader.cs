using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Ray.Protocol;

/// <summary>
/// Reads little-endian fields from a payload, throwing <see cref="ProtocolException"/> when
/// the payload is shorter than its message needs (a truncated or malformed frame).
/// </summary>
public ref struct PayloadReader
{
    private SequenceReader<byte> _reader;
    private readonly ushort _kind;

    /// <summary>Starts reading <paramref name="payload"/> of a message of kind <paramref name="kind"/>.</summary>
    public PayloadReader(ReadOnlySequence<byte> payload, ushort kind)
    {
        _reader = new SequenceReader<byte>(payload);
        _kind = kind;
    }

    /// <summary>Bytes left.</summary>
    public readonly long Remaining => _reader.Remaining;

    /// <summary>Reads a byte.</summary>
    public byte U8() => _reader.TryRead(out var v) ? v : throw Short(1);

    /// <summary>Reads a little-endian u16.</summary>
    public ushort U16() => _reader.TryReadLittleEndian(out short v) ? (ushort)v : throw Short(2);

    /// <summary>Reads a little-endian u32.</summary>
    public uint U32() => _reader.TryReadLittleEndian(out int v) ? (uint)v : throw Short(4);

    /// <summary>Reads a little-endian i64.</summary>
    public long I64() => _reader.TryReadLittleEndian(out long v) ? v : throw Short(8);

    /// <summary>Reads a little-endian u64.</summary>
    public ulong U64() => (ulong)I64();

    /// <summary>Reads a u32-length-prefixed byte string of at most <paramref name="max"/> bytes.</summary>
    /// <exception cref="ProtocolException">Longer than <paramref name="max"/>, or past the payload's end.</exception>
    public byte[] Bytes(int max)
    {
        var n = U32();
        if (n > (uint)max) throw new ProtocolException($"message kind {_kind}: a byte string of {n} bytes exceeds the limit of {max}");
        if (n > Remaining) throw Short((int)n);
        var bytes = new byte[n];
        _reader.TryCopyTo(bytes);
        _reader.Advance(n);
        return bytes;
    }

    /// <summary>Reads a u16-length-prefixed UTF-8 string.</summary>
    public string Utf8()
    {
        var n = U16();
        if (_reader.Remaining < n) throw Short(n);
        Span<byte> buf = n <= 512 ? stackalloc byte[n] : new byte[n];
        _reader.TryCopyTo(buf);
        _reader.Advance(n);
        return Encoding.UTF8.GetString(buf);
    }

    /// <summary>Throws unless the whole payload was consumed.</summary>
    public readonly void End()
    {
        if (_reader.Remaining != 0) throw new ProtocolException($"message kind {_kind} has {_reader.Remaining} unexpected trailing bytes");
    }

    private readonly ProtocolException Short(int need) =>
        new($"message kind {_kind} is truncated: needed {need} more bytes at offset {_reader.Consumed}");
}

/// <summary>Builds a small payload on the stack or in a rented buffer.</summary>
public ref struct PayloadBuilder
{
    private Span<byte> _buffer;
    private int _length;

    /// <summary>Builds into <paramref name="buffer"/> (which must be large enough).</summary>
    public PayloadBuilder(Span<byte> buffer)
    {
        _buffer = buffer;
        _length = 0;
    }

    /// <summary>The bytes written so far.</summary>
    public readonly ReadOnlySpan<byte> Written => _buffer[.._length];

    /// <summary>Appends a byte.</summary>
    public void U8(byte v) => _buffer[_length++] = v;

    /// <summary>Appends a little-endian u16.</summary>
    public void U16(ushort v) { BinaryPrimitives.WriteUInt16LittleEndian(_buffer[_length..], v); _length += 2; }

    /// <summary>Appends a little-endian u32.</summary>
    public void U32(uint v) { BinaryPrimitives.WriteUInt32LittleEndian(_buffer[_length..], v); _length += 4; }

    /// <summary>Appends a little-endian i64.</summary>
    public void I64(long v) { BinaryPrimitives.WriteInt64LittleEndian(_buffer[_length..], v); _length += 8; }

    /// <summary>Appends a little-endian u64.</summary>
    public void U64(ulong v) => I64((long)v);

    /// <summary>Appends a u16-length-prefixed UTF-8 string (truncated to 4000 bytes).</summary>
    public void Utf8(string s)
    {
        var max = Math.Min(Encoding.UTF8.GetByteCount(s), 4000);
        var bytes = Encoding.UTF8.GetBytes(s);
        U16((ushort)max);
        bytes.AsSpan(0, max).CopyTo(_buffer[_length..]);
        _length += max;
    }
}
