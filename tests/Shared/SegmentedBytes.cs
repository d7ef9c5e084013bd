using System.Buffers;

namespace Ray.Tests.Shared;

/// <summary>Splits bytes into a multi-segment sequence, as a pipe hands frames to a parser in pieces.</summary>
internal static class SegmentedBytes
{
    /// <summary>The bytes as a sequence of segments of 0..<paramref name="maxSegment"/> bytes.</summary>
    public static ReadOnlySequence<byte> Split(byte[] bytes, Random rng, int maxSegment)
    {
        if (bytes.Length == 0) return ReadOnlySequence<byte>.Empty;
        Segment? first = null, last = null;
        var at = 0;
        while (at < bytes.Length)
        {
            var n = Math.Min(bytes.Length - at, rng.Next(0, maxSegment + 1));
            var seg = new Segment(bytes.AsMemory(at, n));
            if (first is null) first = last = seg;
            else last = last!.Append(seg);
            at += n;
        }
        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory) => Memory = memory;

        public Segment Append(Segment next)
        {
            next.RunningIndex = RunningIndex + Memory.Length;
            Next = next;
            return next;
        }
    }
}
