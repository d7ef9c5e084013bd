using System.Numerics;
using Ray.Gpu.Kernels;

namespace Ray.Gpu.Collectives;

/// <summary>The ring building blocks: bandwidth-optimal, each step moves one chunk to the next rank.</summary>
public sealed partial class Communicator
{
    /// <summary>
    /// Ring reduce-scatter in place over <paramref name="buffer"/>: after W-1 steps chunk
    /// <paramref name="owned"/> holds the reduction over all ranks (other chunks hold partial sums).
    /// Step s sends chunk (owned-1-s) to the next rank and folds the previous rank's chunk (owned-2-s) in.
    /// </summary>
    private async ValueTask RingReduceScatterAsync<T>(OpScope scope, Memory<T> buffer, ChunkLayout layout, int owned, ReduceOp op)
        where T : unmanaged, INumber<T>
    {
        for (int step = 0; step < WorldSize - 1; step++)
        {
            Send<T>(scope, Next, buffer.Span[layout[owned - 1 - step]]);
            await ReceiveAccumulateAsync(scope, Previous, op, buffer[layout[owned - 2 - step]]).ConfigureAwait(false);
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
            Send<T>(scope, Next, buffer.Span[layout[owned - step]]);
            await ReceiveIntoAsync(scope, Previous, buffer[layout[owned - 1 - step]]).ConfigureAwait(false);
        }
    }
}
