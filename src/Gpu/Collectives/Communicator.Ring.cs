using System.Numerics;
using Ray.Gpu.Kernels;

namespace Ray.Gpu.Collectives;

/// <summary>The ring building blocks: bandwidth-optimal, each step moves one chunk to the next rank.</summary>
public sealed partial class Communicator
{
    /// <summary>
    /// Ring reduce-scatter into <paramref name="buffer"/>: after W-1 steps chunk <paramref name="owned"/>
    /// holds the reduction over all ranks (other chunks hold partial sums or nothing). Step s sends chunk
    /// (owned-1-s) to the next rank (from <paramref name="source"/> at step 0, then the partial sum made
    /// the step before) and stores op(source chunk, received) into chunk (owned-2-s): each chunk is
    /// combined once, so <paramref name="source"/> need not be copied into <paramref name="buffer"/> first
    /// (they may also be the same memory).
    /// </summary>
    private async ValueTask RingReduceScatterAsync<T>(OpScope scope, ReadOnlyMemory<T> source, Memory<T> buffer, ChunkLayout layout, int owned, ReduceOp op)
        where T : unmanaged, INumber<T>
    {
        for (int step = 0; step < WorldSize - 1; step++)
        {
            Range outgoing = layout[owned - 1 - step];
            Range incoming = layout[owned - 2 - step];
            ReadOnlyMemory<T> send = step == 0 ? source[outgoing] : buffer[outgoing];
            if (_group.Shm is { } shm)
            {
                shm.SendReceiveCombine(scope, Next, send.Span, Previous, op, source.Span[incoming], buffer.Span[incoming]);
                continue;
            }

            Send(scope, Next, send.Span);
            await ReceiveCombineAsync(scope, Previous, op, source[incoming], buffer[incoming]).ConfigureAwait(false);
        }

        if (WorldSize == 1)
        {
            source.CopyTo(buffer);
        }
    }

    /// <summary>
    /// Ring all-gather in place: this rank starts with chunk <paramref name="owned"/> complete; step s
    /// sends chunk (owned-s) to the next rank and receives chunk (owned-1-s) from the previous one.
    /// </summary>
    private async ValueTask RingAllGatherAsync<T>(OpScope scope, Memory<T> buffer, ChunkLayout layout, int owned)
        where T : unmanaged
    {
        for (int step = 0; step < WorldSize - 1; step++)
        {
            if (_group.Shm is { } shm)
            {
                shm.SendReceiveCopy<T>(scope, Next, buffer.Span[layout[owned - step]], Previous, buffer.Span[layout[owned - 1 - step]]);
                continue;
            }

            Send<T>(scope, Next, buffer.Span[layout[owned - step]]);
            await ReceiveIntoAsync(scope, Previous, buffer[layout[owned - 1 - step]]).ConfigureAwait(false);
        }
    }
}
