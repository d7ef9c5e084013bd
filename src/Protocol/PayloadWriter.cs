using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Ray.Protocol;

/// <summary>
/// Appends little-endian fields to any buffer writer (a pipe, or an ArrayBufferWriter for a
/// control message): the writer of the cluster conversations, paired with <see cref="PayloadReader"/>
/// (same layouts: u16-length UTF-8 strings, u32-length byte strings). Ray.Core names it PayloadWriter
/// through a global alias until the folder rename pass.
/// </summary>
public readonly struct PayloadWriter(IBufferWriter<byte> output)
{
    /// <summary>The longest string a payload holds, in UTF-8 bytes.</summary>
    public const int MaxString = 4000;

    /// <summary>Where the fields go.</summary>
    public IBufferWriter<byte> Output { get; } = output;

    /// <summary>A byte.</summary>
    public void U8(byte v)
    {
        Output.GetSpan(1)[0] = v;
        Output.Advance(1);
    }

    /// <summary>A little-endian u16.</summary>
    public void U16(ushort v)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(Output.GetSpan(2), v);
        Output.Advance(2);
    }

    /// <summary>A little-endian u32.</summary>
    public void U32(uint v)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(Output.GetSpan(4), v);
        Output.Advance(4);
    }

    /// <summary>A little-endian i32.</summary>
    public void I32(int v) => U32((uint)v);

    /// <summary>A little-endian i64.</summary>
    public void I64(long v)
    {
        BinaryPrimitives.WriteInt64LittleEndian(Output.GetSpan(8), v);
        Output.Advance(8);
    }

    /// <summary>A little-endian u64.</summary>
    public void U64(ulong v) => I64((long)v);

    /// <summary>A u16-length-prefixed UTF-8 string; longer than 4000 bytes is an error, not a silent cut.</summary>
    public void Utf8(string s)
    {
        var n = Encoding.UTF8.GetByteCount(s);
        if (n > MaxString) throw new ArgumentException($"a string of {n} UTF-8 bytes does not fit a message (limit {MaxString}): '{s[..Math.Min(s.Length, 80)]}...'");
        U16((ushort)n);
        var span = Output.GetSpan(n);
        Encoding.UTF8.GetBytes(s, span);
        Output.Advance(n);
    }

    /// <summary>A u16-length-prefixed UTF-8 string cut to 4000 bytes (for messages, where a long text must not fail the reply).</summary>
    public void Utf8Truncated(string s)
    {
        var bytes = Encoding.UTF8.GetBytes(s);
        var n = Math.Min(bytes.Length, MaxString);
        U16((ushort)n);
        Raw(bytes.AsSpan(0, n));
    }

    /// <summary>A u32-length-prefixed byte string.</summary>
    public void Bytes(ReadOnlySpan<byte> data)
    {
        U32((uint)data.Length);
        Raw(data);
    }

    /// <summary>Bytes as they are, with no length.</summary>
    public void Raw(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty) return;
        data.CopyTo(Output.GetSpan(data.Length));
        Output.Advance(data.Length);
    }

    /// <summary>Encodes a control message with <paramref name="write"/> into a fresh array.</summary>
    public static byte[] Build<TState>(TState state, Action<PayloadWriter, TState> write)
    {
        var buffer = new ArrayBufferWriter<byte>(64);
        write(new PayloadWriter(buffer), state);
        return buffer.WrittenSpan.ToArray();
    }
}
