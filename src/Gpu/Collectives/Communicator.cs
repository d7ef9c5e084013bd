using System.Buffers;
using System.Diagnostics;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Threading.Channels;
using Ray.Gpu.Collectives.SharedMemory;
using Ray.Gpu.Kernels;

namespace Ray.Gpu.Collectives;

/// <summary>
/// One rank's handle on a <see cref="CollectiveGroup"/>. Every rank must call the same collective
/// operations in the same order with matching sizes; one rank's communicator is used by one caller
/// at a time. Any failure (a peer's <see cref="Abort"/>, a timeout, a mismatch) fails the operation
/// with a <see cref="CollectiveException"/> on every rank.
/// </summary>
public sealed partial class Communicator
{
    private readonly CollectiveGroup _group;
    private long _sequence;

    internal Communicator(CollectiveGroup group, int rank)
    {
        _group = group;
        Rank = rank;
    }

    /// <summary>This rank, 0 .. <see cref="WorldSize"/> - 1.</summary>
    public int Rank { get; }

    /// <summary>Number of ranks in the group.</summary>
    public int WorldSize => _group.WorldSize;

    /// <summary>The group this communicator belongs to.</summary>
    public CollectiveGroup Group => _group;

    /// <summary>
    /// Declares this rank dead: every pending and later operation on every rank of the group fails
    /// with <see cref="CollectiveErrorKind.RankAborted"/> naming this rank.
    /// </summary>
    public void Abort(string? reason = null) =>
        _group.Fail(CollectiveErrorKind.RankAborted, Rank, reason ?? $"rank {Rank} aborted");

    /// <summary>Number of collective operations this rank has entered (read by peers for diagnostics).</summary>
    internal long EnteredOperations => Volatile.Read(ref _sequence);

    private int Next => (Rank + 1) % WorldSize;

    private int Previous => (Rank + WorldSize - 1) % WorldSize;

    private OpScope Begin(string operation, CancellationToken cancellationToken, bool pointToPoint = false)
    {
        _group.ThrowIfFailed(Rank);
        if (_group.Shm is { } shm)
        {
            // Shared memory waits poll the token and the deadline themselves: no linked source, no timer.
            long sequence = pointToPoint ? 0 : Interlocked.Increment(ref _sequence);
            if (!pointToPoint)
            {
                Volatile.Write(ref shm.Segment.SlotEnteredOps(Rank), sequence);
            }

            long deadline = Stopwatch.GetTimestamp() + (long)(_group.Options.Timeout.TotalSeconds * Stopwatch.Frequency);
            return new OpScope(operation, sequence, null, cancellationToken, deadline);
        }

        var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _group.FailedToken);
        cts.CancelAfter(_group.Options.Timeout);

        // Point-to-point calls involve two ranks only, so they must not advance the collective sequence.
        return new OpScope(operation, pointToPoint ? 0 : Interlocked.Increment(ref _sequence), cts, cancellationToken, long.MaxValue);
    }

    private void Send<T>(OpScope scope, int to, ReadOnlySpan<T> data, bool pointToPoint = false)
        where T : unmanaged
    {
        if (_group.Shm is { } shm)
        {
            shm.Send(scope, to, data, pointToPoint);
            return;
        }

        if (_group.Tcp is { } tcp)
        {
            tcp.Send(scope, to, data, pointToPoint);
            return;
        }

        T[]? payload = null;
        if (data.Length > 0)
        {
            payload = ArrayPool<T>.Shared.Rent(data.Length);
            data.CopyTo(payload);
        }

        var message = new CollectiveMessage(payload, data.Length, pointToPoint ? 0 : scope.Sequence, scope.Operation);
        if (!_group.Writer(Rank, to, pointToPoint).TryWrite(message))
        {
            Return<T>(message);
            _group.ThrowIfFailed(Rank);
            throw _group.CreateException(Rank);
        }
    }

    private async ValueTask<CollectiveMessage> ReceiveAsync(OpScope scope, int from, bool pointToPoint = false)
    {
        var reader = _group.Reader(from, Rank, pointToPoint);
        CollectiveMessage message;
        if (!reader.TryRead(out message) && (_group.Tcp is not { } tcp || !tcp.TrySpinReceive(from, reader, scope.CallerToken, out message)))
        {
            try
            {
                message = await reader.ReadAsync(scope.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!scope.CallerToken.IsCancellationRequested)
            {
                if (!_group.IsFailed)
                {
                    // In a ring we wait on our neighbour, which may itself wait on the real straggler:
                    // blame the first rank that has not entered this operation, if any.
                    int suspect = scope.Sequence > 0 ? _group.FirstRankBehind(scope.Sequence) ?? from : from;
                    _group.Fail(
                        CollectiveErrorKind.Timeout,
                        suspect,
                        $"rank {Rank} waited {_group.Options.Timeout.TotalSeconds:0.###} s for rank {from} in {scope.Operation} #{scope.Sequence}; rank {suspect} did not arrive");
                }

                throw _group.CreateException(Rank);
            }
            catch (ChannelClosedException)
            {
                // In-process, the group is already failed (disposed); over TCP the peer left.
                _group.Fail(CollectiveErrorKind.GroupClosed, from, $"rank {from} left the group while rank {Rank} waited for it in {scope.Operation}");
                throw _group.CreateException(Rank);
            }
        }

        if (!pointToPoint && (message.Sequence != scope.Sequence || message.Operation != scope.Operation))
        {
            _group.Fail(
                CollectiveErrorKind.Mismatch,
                Blame(from),
                $"rank {Rank} is in {scope.Operation} #{scope.Sequence} but rank {from} sent {message.Operation} #{message.Sequence}");
            throw _group.CreateException(Rank);
        }

        return message;
    }

    private async ValueTask ReceiveIntoAsync<T>(OpScope scope, int from, Memory<T> destination, bool pointToPoint = false)
        where T : unmanaged
    {
        if (_group.Shm is { } shm)
        {
            shm.ReceiveCopy(scope, from, destination.Span, pointToPoint);
            return;
        }

        CollectiveMessage message = await ReceiveAsync(scope, from, pointToPoint).ConfigureAwait(false);
        try
        {
            Payload<T>(message, from, destination.Length).CopyTo(destination.Span);
        }
        finally
        {
            Return<T>(message);
        }
    }

    private ValueTask ReceiveAccumulateAsync<T>(OpScope scope, int from, ReduceOp op, Memory<T> accumulator)
        where T : unmanaged, INumber<T> =>
        ReceiveCombineAsync(scope, from, op, accumulator, accumulator);

    /// <summary>Receives from <paramref name="from"/> and stores <c>op(x, received)</c> into <paramref name="destination"/> (which may be x).</summary>
    private async ValueTask ReceiveCombineAsync<T>(OpScope scope, int from, ReduceOp op, ReadOnlyMemory<T> x, Memory<T> destination)
        where T : unmanaged, INumber<T>
    {
        if (_group.Shm is { } shm)
        {
            shm.ReceiveCombine(scope, from, op, x.Span, destination.Span);
            return;
        }

        CollectiveMessage message = await ReceiveAsync(scope, from).ConfigureAwait(false);
        try
        {
            HostReduction.Combine(op, x.Span, Payload<T>(message, from, destination.Length), destination.Span);
        }
        finally
        {
            Return<T>(message);
        }
    }

    private ReadOnlySpan<T> Payload<T>(CollectiveMessage message, int from, int expectedLength)
        where T : unmanaged
    {
        if (message.TypeCode != 0)
        {
            // Raw bytes from a TCP peer, tagged with the sender's element type.
            if (message.Length != expectedLength || message.TypeCode != ShmType<T>.Code)
            {
                _group.Fail(
                    CollectiveErrorKind.Mismatch,
                    Blame(from),
                    $"rank {Rank} expected {expectedLength} x {typeof(T).Name} from rank {from}, got {message.Length} x {(message.TypeCode == ShmType<T>.Code ? typeof(T).Name : "another type")}");
                throw _group.CreateException(Rank);
            }

            return message.Payload is byte[] bytes
                ? MemoryMarshal.Cast<byte, T>(bytes.AsSpan(0, message.Length * System.Runtime.CompilerServices.Unsafe.SizeOf<T>()))
                : default;
        }

        if (message.Length != expectedLength || (message.Payload is not null && message.Payload is not T[]))
        {
            _group.Fail(
                CollectiveErrorKind.Mismatch,
                from,
                $"rank {Rank} expected {expectedLength} x {typeof(T).Name} from rank {from}, got {message.Length} x {message.Payload?.GetType().GetElementType()?.Name ?? "nothing"}");
            throw _group.CreateException(Rank);
        }

        return message.Payload is T[] array ? array.AsSpan(0, message.Length) : default;
    }

    /// <summary>
    /// Whom a mismatch between this rank and <paramref name="from"/> is blamed on. In-process and in
    /// shared memory the first failure is shared, so the detecting rank's view wins everywhere; over
    /// TCP both ranks of a pair may detect it at once, so both blame the higher rank of the pair and
    /// report the same one.
    /// </summary>
    private int Blame(int from) => _group.Tcp is null ? from : Math.Max(Rank, from);

    private static void Return<T>(CollectiveMessage message)
    {
        if (message.TypeCode != 0)
        {
            if (message.Payload is byte[] bytes)
            {
                ArrayPool<byte>.Shared.Return(bytes);
            }

            return;
        }

        if (message.Payload is T[] array)
        {
            ArrayPool<T>.Shared.Return(array);
        }
    }

    private bool UseRing<T>(long elements)
        where T : unmanaged =>
        WorldSize > 1 && (elements * System.Runtime.CompilerServices.Unsafe.SizeOf<T>()) >= _group.Options.RingThresholdBytes;

    /// <summary>One operation in progress: its name, sequence number, cancellation and deadline.</summary>
    internal sealed class OpScope(string operation, long sequence, CancellationTokenSource? cts, CancellationToken callerToken, long deadlineTimestamp) : IDisposable
    {
        public string Operation { get; } = operation;

        public long Sequence { get; } = sequence;

        /// <summary>Caller's token linked with the group's failure and the timeout (in-process transport only).</summary>
        public CancellationToken Token => cts?.Token ?? CallerToken;

        public CancellationToken CallerToken { get; } = callerToken;

        /// <summary>When the operation times out, as a <see cref="Stopwatch"/> timestamp (shared-memory transport).</summary>
        public long DeadlineTimestamp { get; } = deadlineTimestamp;

        public void Dispose() => cts?.Dispose();
    }
}
