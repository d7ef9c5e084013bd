using System.Buffers;

namespace Ray.Protocol;

/// <summary>One parsed frame; <see cref="Payload"/> is a slice of the reader's buffer, valid until it advances.</summary>
public readonly struct Frame(FrameHeader header, ReadOnlySequence<byte> payload)
{
    /// <summary>The header.</summary>
    public FrameHeader Header { get; } = header;
    /// <summary>The payload bytes.</summary>
    public ReadOnlySequence<byte> Payload { get; } = payload;
}

/// <summary>
/// Parses frames out of a byte sequence without knowing about sockets, so tests and fuzzers
/// can drive it directly. Lengths are validated before anything is allocated.
/// </summary>
public sealed class FrameParser(int maxPayload)
{
    /// <summary>The largest payload accepted; larger frames are a protocol error.</summary>
    public int MaxPayload { get; } = maxPayload;

    /// <summary>
    /// Takes one whole frame off the front of <paramref name="buffer"/>. Returns false when more
    /// bytes are needed. Throws <see cref="ProtocolException"/> on a bad header.
    /// </summary>
    public bool TryParseFrame(ref ReadOnlySequence<byte> buffer, out Frame frame)
    {
        frame = default;
        if (buffer.Length < FrameHeader.Size) return false;
        Span<byte> head = stackalloc byte[FrameHeader.Size];
        buffer.Slice(0, FrameHeader.Size).CopyTo(head);
        var header = FrameHeader.Read(head);
        if (header.PayloadLength < 0 || header.PayloadLength > MaxPayload)
            throw new ProtocolException($"frame payload of {header.PayloadLength} bytes is outside 0..{MaxPayload} (kind {header.Kind}, request {header.RequestId})");
        if ((ushort)header.Flags > 7)
            throw new ProtocolException($"unknown frame flags 0x{(ushort)header.Flags:x} (kind {header.Kind})");
        long total = FrameHeader.Size + header.PayloadLength;
        if (buffer.Length < total) return false;
        frame = new Frame(header, buffer.Slice(FrameHeader.Size, header.PayloadLength));
        buffer = buffer.Slice(total);
        return true;
    }
}
