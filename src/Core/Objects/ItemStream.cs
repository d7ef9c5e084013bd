using System.Diagnostics;

namespace Ray.Objects;

/// <summary>
/// Where the producer of a stream runs when that is another process: the owner tells it how far
/// the consumer got (back-pressure acknowledgements) and when to stop. Calls may come from any
/// thread, including a connection's receive thread: an implementation must not block.
/// </summary>
internal interface IStreamProducerLink
{
    /// <summary>The consumer has taken <paramref name="consumed"/> items; <paramref name="received"/> have arrived here.</summary>
    void Consumed(long consumed, long received);

    /// <summary>Nobody wants more items (cancelled, disposed, or the task failed): the producer stops.</summary>
    void Stop();
}

/// <summary>
/// The owner's side of a streaming task (Ray's <c>num_returns="streaming"</c>): the items its
/// producer yielded, in order, each an object of its own, until the producer finishes.
///
/// 1. The producer adds item i (its i-th yield, counted per attempt from 0): an item whose index
///    was seen before (a retried attempt re-running a deterministic generator) is skipped.
/// 2. The consumer takes items in order; each take hands the stream's reference to a handle.
/// 3. Back-pressure: with a bound, the producer waits before producing item i while
///    <c>produced - consumed &gt;= bound</c> (items re-run by a retry do not wait).
/// 4. The task's result (the end-of-stream object) completes: ready ends the stream; failed
///    adds one failed item at that position (the error surfaces where it was thrown), then ends.
/// 5. Stop (cancel, dispose): the producer is told to stop; items already produced stay readable.
/// </summary>
internal abstract class ItemStream : IObjectListener
{
    private readonly object _lock = new();
    private readonly Queue<ObjectEntry> _ready = new();
    private long _produced;   // items added: the next index
    private long _consumed;   // items taken
    private volatile bool _finished; // no item will be added any more
    private volatile bool _stopped;  // the consumer gave up: the producer should stop
    private int _syncWaiters;
    private TaskCompletionSource? _itemSignal; // async consumers waiting for an item or the end
    private TaskCompletionSource? _roomSignal; // an async producer paused by back-pressure
    private CancellationTokenSource? _cancel;  // for async producers: cancelled on stop or failure

    protected ItemStream(MemoryStore store, int bound, string name)
    {
        Store = store;
        Bound = bound;
        Name = name;
    }

    internal MemoryStore Store { get; }

    /// <summary>At most this many produced, unconsumed items (0: no bound).</summary>
    internal int Bound { get; }

    /// <summary>The streaming task's name, for errors about its items.</summary>
    internal string Name { get; }

    internal long Produced => Interlocked.Read(ref _produced);
    internal long Consumed => Interlocked.Read(ref _consumed);
    internal bool IsFinished => _finished;

    /// <summary>True once the producer should stop: the consumer gave up, or the stream ended.</summary>
    internal bool ShouldStop => _stopped || _finished;

    /// <summary>Set by a transport that runs the producer in another process (see <see cref="IStreamProducerLink"/>).</summary>
    internal IStreamProducerLink? Link { get => Volatile.Read(ref _link); set => Volatile.Write(ref _link, value); }
    private IStreamProducerLink? _link; // replaced by each attempt's push; read by consumer threads

    /// <summary>A new pending item object of the stream's type (with <paramref name="id"/>: an object the producer already put in the node's store).</summary>
    internal abstract ObjectEntry CreateItem(ObjectId? id);

    /// <summary>A token cancelled when the producer should stop (passed to async producers).</summary>
    internal CancellationToken StopToken
    {
        get
        {
            lock (_lock)
            {
                _cancel ??= new CancellationTokenSource();
                if (ShouldStop) _cancel.Cancel();
                return _cancel.Token;
            }
        }
    }

    // ---- producer ----

    /// <summary>True when item <paramref name="index"/> was added before (a retried attempt), or the stream takes no more.</summary>
    internal bool IsSeenOrClosed(long index) => index < Produced || ShouldStop;

    /// <summary>
    /// Adds a completed item at <paramref name="index"/>. False when it is not wanted (seen
    /// before, out of order, or the stream ended): the caller releases it.
    /// </summary>
    internal bool TryAdd(long index, ObjectEntry item)
    {
        TaskCompletionSource? signal;
        lock (_lock)
        {
            if (_finished || _stopped || index != _produced) return false;
            _ready.Enqueue(item);
            Volatile.Write(ref _produced, _produced + 1);
            if (_syncWaiters > 0) Monitor.PulseAll(_lock);
            signal = _itemSignal;
            _itemSignal = null;
        }
        signal?.TrySetResult();
        return true;
    }

    private bool HasRoomLocked(long index) =>
        Bound <= 0 || index < _produced || _produced - _consumed < Bound || _stopped || _finished;

    /// <summary>Whether item <paramref name="index"/> may be produced now (back-pressure).</summary>
    internal bool HasRoomFor(long index)
    {
        if (Bound <= 0) return true;
        lock (_lock) return HasRoomLocked(index);
    }

    /// <summary>Completes when item <paramref name="index"/> may be produced, or the producer should stop.</summary>
    internal Task WaitRoomAsync(long index)
    {
        lock (_lock)
        {
            if (HasRoomLocked(index)) return Task.CompletedTask;
            _roomSignal ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return _roomSignal.Task;
        }
    }

    /// <summary>Blocks (lending the worker's CPU) until item <paramref name="index"/> may be produced; false when the producer should stop.</summary>
    internal bool WaitRoom(long index)
    {
        while (!HasRoomFor(index)) Tasks.TaskBlocking.Wait(WaitRoomAsync(index));
        return !ShouldStop;
    }

    // ---- consumer ----

    /// <summary>Takes the next item if one is there: the stream's reference goes to the caller.</summary>
    internal bool TryTake(out ObjectEntry? item)
    {
        TaskCompletionSource? room = null;
        long consumed, received;
        lock (_lock)
        {
            if (_ready.Count == 0)
            {
                item = null;
                return false;
            }
            item = _ready.Dequeue();
            consumed = _consumed + 1;
            Volatile.Write(ref _consumed, consumed);
            received = _produced;
            if (_roomSignal is not null && HasRoomLocked(_produced))
            {
                room = _roomSignal;
                _roomSignal = null;
            }
        }
        room?.TrySetResult();
        if (Bound > 0 && !_finished) Link?.Consumed(consumed, received);
        return true;
    }

    /// <summary>True when every item was taken and no more will come.</summary>
    internal bool IsDrained
    {
        get { lock (_lock) return _finished && _ready.Count == 0; }
    }

    /// <summary>
    /// Waits up to <paramref name="timeout"/> for an item or the end; spins briefly first (a
    /// wake-up costs tens of microseconds here). True when an item is there or the stream ended.
    /// </summary>
    internal bool WaitAvailable(TimeSpan timeout)
    {
        if (Available) return true;
        var start = Stopwatch.GetTimestamp();
        var timeoutTicks = timeout == Timeout.InfiniteTimeSpan ? long.MaxValue : (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        var spin = Math.Min(Store.SpinTicks, timeoutTicks);
        var sw = new SpinWait();
        while (Stopwatch.GetTimestamp() - start < spin)
        {
            if (Available) return true;
            sw.SpinOnce(sleep1Threshold: -1);
        }
        using var blocked = Workers.WorkerContext.EnterBlockedAny();
        lock (_lock)
        {
            _syncWaiters++;
            try
            {
                while (_ready.Count == 0 && !_finished)
                {
                    if (timeoutTicks == long.MaxValue) { Monitor.Wait(_lock); continue; }
                    var left = timeoutTicks - (Stopwatch.GetTimestamp() - start);
                    if (left <= 0) return false;
                    Monitor.Wait(_lock, TimeSpan.FromSeconds(left / (double)Stopwatch.Frequency));
                }
                return true;
            }
            finally { _syncWaiters--; }
        }
    }

    private bool Available => Consumed < Produced || _finished;

    /// <summary>Completes when an item is there or the stream ended.</summary>
    internal Task WaitAvailableAsync()
    {
        lock (_lock)
        {
            if (_ready.Count > 0 || _finished) return Task.CompletedTask;
            _itemSignal ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return _itemSignal.Task;
        }
    }

    // ---- end ----

    /// <summary>The task's result (the end-of-stream object) completed.</summary>
    public void OnObjectCompleted(ObjectEntry result) => Finish(result.IsFailed ? result.Error : null);

    /// <summary>Ends the stream: with an error, one failed item carries it at the position the producer reached.</summary>
    internal void Finish(Exception? error)
    {
        ObjectEntry? failed = null;
        if (error is not null)
        {
            failed = CreateItem(null);
            failed.Fail(error);
        }
        TaskCompletionSource? items, room;
        CancellationTokenSource? cancel;
        lock (_lock)
        {
            if (_finished)
            {
                failed?.Release();
                return;
            }
            if (failed is not null)
            {
                _ready.Enqueue(failed);
                Volatile.Write(ref _produced, _produced + 1);
            }
            _finished = true;
            if (_syncWaiters > 0) Monitor.PulseAll(_lock);
            (items, _itemSignal) = (_itemSignal, null);
            (room, _roomSignal) = (_roomSignal, null);
            cancel = error is not null ? _cancel : null;
        }
        items?.TrySetResult();
        room?.TrySetResult();
        if (error is not null)
        {
            CancelQuietly(cancel);
            Link?.Stop(); // a producer elsewhere may still run (the task was cancelled)
        }
    }

    /// <summary>
    /// The consumer gave up (dispose): the producer stops at its next item; items not taken are
    /// released. Taken items stay with their handles.
    /// </summary>
    internal void Abandon()
    {
        List<ObjectEntry> left;
        TaskCompletionSource? room;
        CancellationTokenSource? cancel;
        lock (_lock)
        {
            _stopped = true;
            left = [.. _ready];
            _ready.Clear();
            (room, _roomSignal) = (_roomSignal, null);
            cancel = _cancel;
            if (_syncWaiters > 0) Monitor.PulseAll(_lock);
        }
        room?.TrySetResult();
        CancelQuietly(cancel);
        if (!_finished) Link?.Stop();
        foreach (var e in left) e.Release();
    }

    private static void CancelQuietly(CancellationTokenSource? cts)
    {
        try { cts?.Cancel(); }
        catch (AggregateException) { } // a producer's registration threw: it is stopping anyway
    }
}

/// <summary>A stream of <typeparamref name="T"/> items (see <see cref="ItemStream"/>).</summary>
internal sealed class ItemStream<T>(MemoryStore store, int bound, string name) : ItemStream(store, bound, name)
{
    internal override ObjectEntry CreateItem(ObjectId? id) => id is { } i ? Store.CreatePending<T>(i) : Store.CreatePending<T>();

    /// <summary>
    /// Stores item <paramref name="index"/> of an in-process producer. False when the producer
    /// should stop. A value that cannot be stored throws (the task fails with it).
    /// </summary>
    internal bool Produce(long index, in T item)
    {
        if (index < Produced) return true; // a retried attempt re-running items seen before
        if (ShouldStop) return false;
        var entry = Store.CreatePending<T>();
        try { entry.SetValue(item, "an item of the stream of " + Name); }
        catch (Exception e)
        {
            entry.Fail(e);
            entry.Release();
            throw new Tasks.ResultStoreException(e);
        }
        if (TryAdd(index, entry)) return true;
        entry.Release();
        return false;
    }
}
