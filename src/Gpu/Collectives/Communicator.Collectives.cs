using System.Buffers;
using System.Numerics;
using Ray.Gpu.Kernels;

namespace Ray.Gpu.Collectives;

/// <summary>The public collective and point-to-point operations over host memory.</summary>
public sealed partial class Communicator
{
    /// <summary>
    /// Reduces <paramref name="send"/> across all ranks into every rank's <paramref name="receive"/>
    /// (which may be the same memory). Direct exchange below the ring threshold; ring reduce-scatter
    /// plus ring all-gather above it.
    /// </summary>
    public async ValueTask AllReduceAsync<T>(ReadOnlyMemory<T> send, Memory<T> receive, ReduceOp op = ReduceOp.Sum, CancellationToken cancellationToken = default)
        where T : unmanaged, INumber<T>
    {
        RequireLength(receive.Length, send.Length, nameof(receive));
        using OpScope scope = Begin("AllReduce", cancellationToken);
        if (UseRing<T>(send.Length))
        {
            var layout = ChunkLayout.Pieces(send.Length, WorldSize);
            await RingReduceScatterAsync(scope, send, receive, layout, Rank + 1, op).ConfigureAwait(false);
            await RingAllGatherAsync(scope, receive, layout, Rank + 1).ConfigureAwait(false);
            return;
        }

        for (int peer = 0; peer < WorldSize; peer++)
        {
            if (peer != Rank)
            {
                Send(scope, peer, send.Span);
            }
        }

        await ReduceInRankOrderAsync(scope, send, receive, op).ConfigureAwait(false);
    }

    /// <summary>In-place all-reduce of <paramref name="buffer"/>.</summary>
    public ValueTask AllReduceAsync<T>(Memory<T> buffer, ReduceOp op = ReduceOp.Sum, CancellationToken cancellationToken = default)
        where T : unmanaged, INumber<T> =>
        AllReduceAsync((ReadOnlyMemory<T>)buffer, buffer, op, cancellationToken);

    /// <summary>
    /// Reduces <paramref name="send"/> across all ranks into <paramref name="receive"/> on
    /// <paramref name="root"/> only (other ranks may pass an empty <paramref name="receive"/>).
    /// </summary>
    public async ValueTask ReduceAsync<T>(ReadOnlyMemory<T> send, Memory<T> receive, int root, ReduceOp op = ReduceOp.Sum, CancellationToken cancellationToken = default)
        where T : unmanaged, INumber<T>
    {
        RequireRank(root, nameof(root));
        if (Rank == root)
        {
            RequireLength(receive.Length, send.Length, nameof(receive));
        }

        using OpScope scope = Begin("Reduce", cancellationToken);
        if (!UseRing<T>(send.Length))
        {
            if (Rank != root)
            {
                Send(scope, root, send.Span);
                return;
            }

            await ReduceInRankOrderAsync(scope, send, receive, op).ConfigureAwait(false);
            return;
        }

        // Ring reduce-scatter leaves each rank one fully reduced chunk; the chunks then go to the root.
        T[] scratch = ArrayPool<T>.Shared.Rent(send.Length);
        try
        {
            Memory<T> work = scratch.AsMemory(0, send.Length);
            var layout = ChunkLayout.Pieces(send.Length, WorldSize);
            await RingReduceScatterAsync(scope, send, work, layout, Rank, op).ConfigureAwait(false);
            if (Rank != root)
            {
                Send<T>(scope, root, work.Span[layout[Rank]]);
                return;
            }

            work.Span[layout[Rank]].CopyTo(receive.Span[layout[Rank]]);
            for (int peer = 0; peer < WorldSize; peer++)
            {
                if (peer != Rank)
                {
                    await ReceiveIntoAsync(scope, peer, receive[layout[peer]]).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            ArrayPool<T>.Shared.Return(scratch);
        }
    }

    /// <summary>
    /// Copies <paramref name="buffer"/> from <paramref name="root"/> into every rank's buffer. Large
    /// buffers are scattered from the root and completed with a ring all-gather.
    /// </summary>
    public async ValueTask BroadcastAsync<T>(Memory<T> buffer, int root, CancellationToken cancellationToken = default)
        where T : unmanaged
    {
        RequireRank(root, nameof(root));
        using OpScope scope = Begin("Broadcast", cancellationToken);
        if (!UseRing<T>(buffer.Length))
        {
            if (Rank == root)
            {
                for (int peer = 0; peer < WorldSize; peer++)
                {
                    if (peer != Rank)
                    {
                        Send<T>(scope, peer, buffer.Span);
                    }
                }
            }
            else
            {
                await ReceiveIntoAsync(scope, root, buffer).ConfigureAwait(false);
            }

            return;
        }

        var layout = ChunkLayout.Pieces(buffer.Length, WorldSize);
        if (Rank == root)
        {
            for (int peer = 0; peer < WorldSize; peer++)
            {
                if (peer != Rank)
                {
                    Send<T>(scope, peer, buffer.Span[layout[peer]]);
                }
            }
        }
        else
        {
            await ReceiveIntoAsync(scope, root, buffer[layout[Rank]]).ConfigureAwait(false);
        }

        await RingAllGatherAsync(scope, buffer, layout, Rank).ConfigureAwait(false);
    }

    /// <summary>
    /// Gathers every rank's <paramref name="send"/> (n elements) into <paramref name="receive"/>
    /// (WorldSize x n elements, rank order) on every rank.
    /// </summary>
    public async ValueTask AllGatherAsync<T>(ReadOnlyMemory<T> send, Memory<T> receive, CancellationToken cancellationToken = default)
        where T : unmanaged
    {
        RequireLength(receive.Length, (long)send.Length * WorldSize, nameof(receive));
        using OpScope scope = Begin("AllGather", cancellationToken);
        var layout = ChunkLayout.Slots(send.Length, WorldSize);
        send.Span.CopyTo(receive.Span[layout[Rank]]);
        if (UseRing<T>((long)send.Length * WorldSize))
        {
            await RingAllGatherAsync(scope, receive, layout, Rank).ConfigureAwait(false);
            return;
        }

        for (int peer = 0; peer < WorldSize; peer++)
        {
            if (peer != Rank)
            {
                Send(scope, peer, send.Span);
            }
        }

        for (int peer = 0; peer < WorldSize; peer++)
        {
            if (peer != Rank)
            {
                await ReceiveIntoAsync(scope, peer, receive[layout[peer]]).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Reduces <paramref name="send"/> (WorldSize x n elements) across ranks and leaves slot
    /// <see cref="Rank"/> of the result (n elements) in <paramref name="receive"/>.
    /// </summary>
    public async ValueTask ReduceScatterAsync<T>(ReadOnlyMemory<T> send, Memory<T> receive, ReduceOp op = ReduceOp.Sum, CancellationToken cancellationToken = default)
        where T : unmanaged, INumber<T>
    {
        RequireLength(send.Length, (long)receive.Length * WorldSize, nameof(send));
        using OpScope scope = Begin("ReduceScatter", cancellationToken);
        var layout = ChunkLayout.Slots(receive.Length, WorldSize);
        if (UseRing<T>(send.Length))
        {
            T[] scratch = ArrayPool<T>.Shared.Rent(send.Length);
            try
            {
                Memory<T> work = scratch.AsMemory(0, send.Length);
                await RingReduceScatterAsync(scope, send, work, layout, Rank, op).ConfigureAwait(false);
                work.Span[layout[Rank]].CopyTo(receive.Span);
            }
            finally
            {
                ArrayPool<T>.Shared.Return(scratch);
            }

            return;
        }

        for (int peer = 0; peer < WorldSize; peer++)
        {
            if (peer != Rank)
            {
                Send<T>(scope, peer, send.Span[layout[peer]]);
            }
        }

        await ReduceInRankOrderAsync(scope, send[layout[Rank]], receive, op).ConfigureAwait(false);
    }

    /// <summary>Returns once every rank has entered the barrier (gather to rank 0, then release).</summary>
    public async ValueTask BarrierAsync(CancellationToken cancellationToken = default)
    {
        using OpScope scope = Begin("Barrier", cancellationToken);
        if (WorldSize == 1)
        {
            return;
        }

        if (Rank == 0)
        {
            for (int peer = 1; peer < WorldSize; peer++)
            {
                await ReceiveIntoAsync(scope, peer, Memory<byte>.Empty).ConfigureAwait(false);
            }

            for (int peer = 1; peer < WorldSize; peer++)
            {
                Send(scope, peer, ReadOnlySpan<byte>.Empty);
            }
        }
        else
        {
            Send(scope, 0, ReadOnlySpan<byte>.Empty);
            await ReceiveIntoAsync(scope, 0, Memory<byte>.Empty).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Sends <paramref name="data"/> to <paramref name="destination"/>, which must call
    /// <see cref="RecvAsync{T}"/> with a buffer of the same length. Completes once the data is queued.
    /// </summary>
    public ValueTask SendAsync<T>(ReadOnlyMemory<T> data, int destination, CancellationToken cancellationToken = default)
        where T : unmanaged
    {
        RequireRank(destination, nameof(destination));
        using OpScope scope = Begin("Send", cancellationToken, pointToPoint: true);
        Send(scope, destination, data.Span, pointToPoint: true);
        return ValueTask.CompletedTask;
    }

    /// <summary>Receives the next message <paramref name="source"/> sent to this rank into <paramref name="buffer"/>.</summary>
    public async ValueTask RecvAsync<T>(Memory<T> buffer, int source, CancellationToken cancellationToken = default)
        where T : unmanaged
    {
        RequireRank(source, nameof(source));
        using OpScope scope = Begin("Recv", cancellationToken, pointToPoint: true);
        await ReceiveIntoAsync(scope, source, buffer, pointToPoint: true).ConfigureAwait(false);
    }

    /// <summary>
    /// The direct path's reduction: rank 0's data, then rank 1's, and so on, so that every rank
    /// computes bit-identical floating-point results.
    /// </summary>
    private async ValueTask ReduceInRankOrderAsync<T>(OpScope scope, ReadOnlyMemory<T> mine, Memory<T> receive, ReduceOp op)
        where T : unmanaged, INumber<T>
    {
        // Keep our own contribution aside: receive may alias it and is overwritten by rank 0's data.
        T[] own = ArrayPool<T>.Shared.Rent(Math.Max(1, mine.Length));
        try
        {
            mine.Span.CopyTo(own);
            ReadOnlyMemory<T> ownData = own.AsMemory(0, mine.Length);
            for (int peer = 0; peer < WorldSize; peer++)
            {
                if (peer == 0)
                {
                    if (Rank == 0)
                    {
                        ownData.Span.CopyTo(receive.Span);
                    }
                    else
                    {
                        await ReceiveIntoAsync(scope, 0, receive).ConfigureAwait(false);
                    }
                }
                else if (peer == Rank)
                {
                    HostReduction.Accumulate(op, receive.Span, ownData.Span);
                }
                else
                {
                    await ReceiveAccumulateAsync(scope, peer, op, receive).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            ArrayPool<T>.Shared.Return(own);
        }
    }

    private void RequireRank(int rank, string name)
    {
        if ((uint)rank >= (uint)WorldSize)
        {
            throw new ArgumentOutOfRangeException(name, rank, $"Rank must be in 0..{WorldSize - 1}.");
        }
    }

    private static void RequireLength(long actual, long expected, string name)
    {
        if (actual != expected)
        {
            throw new ArgumentException($"Buffer holds {actual} elements; expected {expected}.", name);
        }
    }
}
