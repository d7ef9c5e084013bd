using System.Buffers;

namespace Ray.Protocol;

/// <summary>Writes frames into a buffer writer (a PipeWriter); the caller flushes once per batch.</summary>
public static class FrameWriter
{
    /// <summary>Writes one frame: the header, then <paramref name="payload"/>.</summary>
    public static void Write(IBufferWriter<byte> output, ushort kind, FrameFlags flags, ulong requestId, ReadOnlySpan<byte> payload)
    {
        var span = output.GetSpan(FrameHeader.Size + payload.Length);
        new FrameHeader(payload.Length, kind, flags, requestId).Write(span);
        payload.CopyTo(span[FrameHeader.Size..]);
        output.Advance(FrameHeader.Size + payload.Length);
    }
}
