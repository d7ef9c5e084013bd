using System.Diagnostics;
using Ray.Cluster.Wire;
using Ray.Protocol;

namespace Ray.Cluster.WorkerSide;

/// <summary>
/// A streaming call running in this worker (on its session's side thread): each item the
/// generator yields goes to the driver at once as a StreamItem frame (frames are flushed in
/// batches: every 64 KiB or 50 us, and before pausing). With a back-pressure bound the generator
/// is asked for item i only while <c>i &lt; consumed + bound</c>; the driver's StreamAck frames,
/// read by the receive thread, move <c>consumed</c> forward or stop the stream.
/// </summary>
internal sealed class WorkerStream(WorkerSession session, ulong requestId, StreamWire.Spec spec, WorkerRuntime runtime)
{
    private static readonly long FlushAfterTicks = Stopwatch.Frequency / 20_000; // 50 us
    private const int FlushAfterBytes = 64 << 10;
    private static readonly long SpinTicks = (long)(WorkerHost.SpinFromEnvironment().TotalSeconds * Stopwatch.Frequency);

    private readonly object _lock = new();
    private long _consumed = spec.Consumed;
    private volatile bool _stopped;
    private long _lastFlush = Stopwatch.GetTimestamp();

    internal ulong RequestId => requestId;
    internal WorkerRuntime Runtime => runtime;
    internal bool IsStopped => _stopped;

    /// <summary>A StreamAck from the driver (receive thread).</summary>
    internal void OnAck(long value)
    {
        lock (_lock)
        {
            if (value == StreamWire.Stop) _stopped = true;
            else if (value > _consumed) _consumed = value;
            else return;
            Monitor.PulseAll(_lock);
        }
    }

    /// <summary>Waits until item <paramref name="index"/> may be produced; false when the driver said stop.</summary>
    internal bool WaitRoom(long index)
    {
        if (spec.Bound <= 0 || index < Volatile.Read(ref _consumed) + spec.Bound) return !_stopped;
        session.Flush(); // what was produced must reach the consumer, or nobody will acknowledge it
        _lastFlush = Stopwatch.GetTimestamp();
        // Spin a little first: an acknowledgement is often one round trip away, and a wake-up
        // from Monitor.Wait costs tens of microseconds here (as the receive threads spin).
        var spin = new SpinWait();
        while (Stopwatch.GetTimestamp() - _lastFlush < SpinTicks)
        {
            if (_stopped || index < Volatile.Read(ref _consumed) + spec.Bound) return !_stopped;
            spin.SpinOnce(sleep1Threshold: -1);
        }
        using var blocked = Workers.WorkerContext.EnterBlockedAny();
        lock (_lock)
        {
            while (!_stopped && index >= _consumed + spec.Bound) Monitor.Wait(_lock);
        }
        return !_stopped;
    }

    /// <summary>Sends item <paramref name="index"/> (a large one through the node's store under an id of this worker's).</summary>
    internal void Send<T>(long index, T item)
    {
        try
        {
            var prepared = WorkerFunction.PrepareResult<T>(item, runtime);
            var id = runtime.Store.NewId();
            session.Append((ushort)ClusterMessageKind.StreamItem, FrameFlags.None, requestId, (index, prepared, id, runtime),
                static (w, s) =>
                {
                    w.U64((ulong)s.index);
                    WorkerFunction.EncodeResult<T>(w, s.prepared, s.id, s.runtime);
                });
        }
        catch (Exception e) when (e is not ProtocolException) { throw new StreamItemException(e); }
        var now = Stopwatch.GetTimestamp();
        if (now - _lastFlush > FlushAfterTicks || session.PendingSendBytes > FlushAfterBytes)
        {
            session.Flush();
            _lastFlush = now;
        }
    }
}

/// <summary>Drains a generator of one item type into a <see cref="WorkerStream"/> (made once per function, see <see cref="WorkerFunction"/>).</summary>
internal abstract class StreamDrainer
{
    /// <summary>Runs <paramref name="generator"/> (what the function returned) to its end, or until the driver says stop.</summary>
    internal abstract void Drain(object? generator, WorkerStream stream);
}

internal sealed class StreamDrainer<T> : StreamDrainer
{
    internal override void Drain(object? generator, WorkerStream stream)
    {
        long index = 0;
        if (generator is IEnumerable<T> items)
        {
            using var e = items.GetEnumerator();
            while (stream.WaitRoom(index) && e.MoveNext()) stream.Send(index++, e.Current);
            return;
        }
        if (generator is IAsyncEnumerable<T> asyncItems)
        {
            var e = asyncItems.GetAsyncEnumerator();
            try
            {
                while (stream.WaitRoom(index) && Tasks.TaskBlocking.Wait(e.MoveNextAsync().AsTask())) stream.Send(index++, e.Current);
            }
            finally { Tasks.TaskBlocking.Wait(e.DisposeAsync().AsTask()); }
            return;
        }
        throw new InvalidOperationException("the generator is null");
    }
}
