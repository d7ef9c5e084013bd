using System.Buffers;

namespace Ray.Protocol;

/// <summary>A frame waiting in a connection's outbox; its payload is rented and returned after writing.</summary>
internal readonly struct OutFrame(ushort kind, FrameFlags flags, ulong requestId, byte[]? payload, int length)
{
    internal ushort Kind { get; } = kind;
    internal FrameFlags Flags { get; } = flags;
    internal ulong RequestId { get; } = requestId;
    internal byte[]? Payload { get; } = payload;
    internal int Length { get; } = length;

    internal static OutFrame Create(ushort kind, FrameFlags flags, ulong requestId, ReadOnlySpan<byte> payload)
    {
        if (payload.IsEmpty) return new OutFrame(kind, flags, requestId, null, 0);
        var buffer = ArrayPool<byte>.Shared.Rent(payload.Length);
        payload.CopyTo(buffer);
        return new OutFrame(kind, flags, requestId, buffer, payload.Length);
    }

    /// <summary>Writes the frame and returns the rented payload.</summary>
    internal void WriteTo(IBufferWriter<byte> output)
    {
        FrameWriter.Write(output, Kind, Flags, RequestId, Payload is null ? default : Payload.AsSpan(0, Length));
        Return();
    }

    /// <summary>Copies header and payload into <paramref name="destination"/> (the payload is not returned); the bytes written.</summary>
    internal int CopyTo(Span<byte> destination)
    {
        new FrameHeader(Length, Kind, Flags, RequestId).Write(destination[..FrameHeader.Size]);
        if (Payload is not null) Payload.AsSpan(0, Length).CopyTo(destination[FrameHeader.Size..]);
        return FrameHeader.Size + Length;
    }

    /// <summary>Returns the rented payload without writing (the connection closed first).</summary>
    internal void Return()
    {
        if (Payload is not null) ArrayPool<byte>.Shared.Return(Payload);
    }
}
