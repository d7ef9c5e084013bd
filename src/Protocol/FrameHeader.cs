using System.Buffers.Binary;

namespace Ray.Protocol;

/// <summary>
/// The fixed 16-byte little-endian header in front of every frame:
/// <c>u32 payload length | u16 kind | u16 flags | u64 request id</c>.
/// </summary>
public readonly record struct FrameHeader(int PayloadLength, ushort Kind, FrameFlags Flags, ulong RequestId)
{
    /// <summary>Header size in bytes.</summary>
    public const int Size = 16;

    /// <summary>Writes the header into the first 16 bytes of <paramref name="destination"/>.</summary>
    public void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteInt32LittleEndian(destination, PayloadLength);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[4..], Kind);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[6..], (ushort)Flags);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[8..], RequestId);
    }

    /// <summary>Reads a header from the first 16 bytes of <paramref name="source"/>.</summary>
    public static FrameHeader Read(ReadOnlySpan<byte> source) => new(
        BinaryPrimitives.ReadInt32LittleEndian(source),
        BinaryPrimitives.ReadUInt16LittleEndian(source[4..]),
        (FrameFlags)BinaryPrimitives.ReadUInt16LittleEndian(source[6..]),
        BinaryPrimitives.ReadUInt64LittleEndian(source[8..]));
}

/// <summary>Frame flags.</summary>
[Flags]
public enum FrameFlags : ushort
{
    /// <summary>None.</summary>
    None = 0,
    /// <summary>This frame answers the request with the same id.</summary>
    Reply = 1,
    /// <summary>The sender expects no reply (one-way message).</summary>
    NoReply = 2,
    /// <summary>A reply that carries an error (status code and message) instead of a result.</summary>
    Error = 4,
}
