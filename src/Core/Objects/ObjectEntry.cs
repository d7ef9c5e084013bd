using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace Ray.Objects;

/// <summary>
/// One object in the owner's memory store: its state, value (in the typed subclass), error,
/// listeners and reference count. This is both the small-object store's slot and the
/// owner-side reference table's row, so the hot path touches one object.
///
/// Lifecycle:
/// 1. Created pending (a task result) or ready (a put), with one reference: the first handle.
/// 2. Completed once: ready with a value, or failed with an error. Listeners and blocked
///    getters are released then.
/// 3. References: each live <see cref="ObjectRef"/> handle, each pending task that takes it as
///    an argument, and each stored object that contains it hold one. The last release frees
///    the value (and releases the objects it contains); reads after that raise ObjectLost.
/// </summary>
internal abstract class ObjectEntry
{
    private const int Pending = 0, Ready = 1, Failed = 2, Freed = 3;

    private int _state;
    private int _refs = 1;
    private int _blockedGetters;
    private bool _orphaned;
    private object? _listeners; // IObjectListener or List<IObjectListener>
    private Exception? _error;

    protected ObjectEntry(ObjectId id, MemoryStore store)
    {
        Id = id;
        Store = store;
    }

    internal ObjectId Id { get; }
    internal MemoryStore Store { get; }

    /// <summary>Objects whose references this object's value contains (kept alive by it).</summary>
    internal ObjectEntry[]? Contained { get => _contained; set => _contained = value; }
    private ObjectEntry[]? _contained;

    /// <summary>The task that will produce this object, while it has not finished (for cancel).</summary>
    internal Tasks.SubmittedTask? Producer { get; set; }

    /// <summary>Serialized size in bytes (0 for values stored directly).</summary>
    internal long SizeBytes { get; set; }

    /// <summary>True once the object is marked exported (its id may be looked up by value).</summary>
    internal bool Exported { get; set; }

    internal bool IsCompleted => Volatile.Read(ref _state) != Pending;
    internal bool IsFailed => Volatile.Read(ref _state) == Failed;
    internal bool IsFreed => Volatile.Read(ref _state) == Freed;
    internal Exception? Error => _error;
    internal int RefCount => Volatile.Read(ref _refs);

    internal abstract Type ValueType { get; }

    // ---- references ----

    internal void AddRef() => Interlocked.Increment(ref _refs);

    /// <summary>
    /// A reference for a reader that found the object through a handle another thread may be
    /// releasing at the same moment: false once the last reference is gone (the value may
    /// already be freed), so the reader never touches freed native memory.
    /// </summary>
    internal bool TryAddRef()
    {
        var refs = Volatile.Read(ref _refs);
        while (refs > 0)
        {
            var seen = Interlocked.CompareExchange(ref _refs, refs + 1, refs);
            if (seen == refs) return true;
            refs = seen;
        }
        return false;
    }

    internal void Release()
    {
        var left = Interlocked.Decrement(ref _refs);
        if (left == 0) FreeValue();
        Debug.Assert(left >= 0, "object released more often than referenced");
    }

    private void FreeValue()
    {
        lock (this)
        {
            if (_state == Pending)
            {
                // The task is still running; free its value as soon as it lands.
                _orphaned = true;
                return;
            }
            if (_state == Freed) return;
            _state = Freed;
        }
        // A freed-by-user object's value is mostly gone already; this takes what waited for the
        // last reference (native bytes) and settles the store's counters.
        ClearValue();
        Store.OnFreed(this);
        ReleaseContained();
    }

    /// <summary>
    /// Frees the object now, whatever still references it (Ray's <c>free</c>): from here on it is
    /// failed with <see cref="ObjectFreedException"/>, so gets, waits and tasks that take it see
    /// that error; a value still to come (a running task's) is dropped when it lands. The value's
    /// memory goes back now where no reader can be using it: a node-store object is deleted (the
    /// store keeps it for views still open), managed bytes are let go (a reader holds its own
    /// reference to the array, so they are not returned to the buffer pool), and native bytes,
    /// which readers read under a reference, go with the last reference. False if the object had
    /// already failed or been freed.
    /// </summary>
    internal bool FreeByUser()
    {
        var error = ExceptionFactory.FreedByUser(Id);
        object? listeners;
        bool wasReady;
        lock (this)
        {
            if (_state is Failed or Freed) return false;
            wasReady = _state == Ready;
            _error = error;
            _state = Failed;
            listeners = _listeners;
            _listeners = null;
            if (_blockedGetters > 0) Monitor.PulseAll(this);
        }
        if (wasReady)
        {
            DropValueForFree();
            Store.OnValueDropped(this);
        }
        ReleaseContained();
        if (listeners is IObjectListener one) one.OnObjectCompleted(this);
        else if (listeners is List<IObjectListener> many) foreach (var l in many) l.OnObjectCompleted(this);
        return true;
    }

    /// <summary>Lets go of the value's memory for <see cref="FreeByUser"/> where no reader can be using it.</summary>
    protected abstract void DropValueForFree();

    /// <summary>Releases the objects the value referred to, once (whoever swaps the array out does it).</summary>
    protected void ReleaseContained()
    {
        var contained = Interlocked.Exchange(ref _contained, null);
        if (contained is not null) foreach (var c in contained) c.Release();
    }

    /// <summary>A value that arrived after the object was already completed (cancelled, killed): drop it entirely.</summary>
    protected void DiscardLateValue()
    {
        ClearValue();
        ReleaseContained();
    }

    // ---- completion ----

    protected abstract void ClearValue();

    /// <summary>Calls <paramref name="visitor"/> back with this entry, typed (see <see cref="IEntryVisitor"/>).</summary>
    internal abstract void Accept(IEntryVisitor visitor);

    /// <summary>Marks the value stored by the subclass as ready. Returns false if already completed.</summary>
    protected bool CompleteReady() => Complete(Ready, null);

    internal bool Fail(Exception error) => Complete(Failed, error);

    private bool Complete(int state, Exception? error)
    {
        object? listeners;
        bool orphaned;
        lock (this)
        {
            if (_state != Pending) return false;
            _error = error;
            _state = state;
            listeners = _listeners;
            _listeners = null;
            orphaned = _orphaned;
            if (_blockedGetters > 0) Monitor.PulseAll(this);
        }
        Store.OnCompleted(this);
        if (listeners is IObjectListener one) one.OnObjectCompleted(this);
        else if (listeners is List<IObjectListener> many) foreach (var l in many) l.OnObjectCompleted(this);
        if (orphaned) FreeValue();
        return true;
    }

    /// <summary>
    /// Registers a listener. Returns false (and does not register) when the object is already
    /// completed: the caller handles that case itself, so nothing runs twice.
    /// </summary>
    internal bool TryAddListener(IObjectListener listener)
    {
        lock (this)
        {
            if (_state != Pending) return false;
            if (_listeners is null) _listeners = listener;
            else if (_listeners is List<IObjectListener> list) list.Add(listener);
            else _listeners = new List<IObjectListener> { (IObjectListener)_listeners, listener };
            return true;
        }
    }

    internal void RemoveListener(IObjectListener listener)
    {
        lock (this)
        {
            if (ReferenceEquals(_listeners, listener)) _listeners = null;
            else if (_listeners is List<IObjectListener> list) list.Remove(listener);
        }
    }

    // ---- waiting ----

    /// <summary>Waits until completed; throws <see cref="GetTimeoutException"/> when <paramref name="timeout"/> passes first.</summary>
    internal void WaitCompletedOrThrow(TimeSpan timeout)
    {
        if (!IsCompleted && !WaitCompleted(timeout)) throw ExceptionFactory.GetTimeout(Id, timeout);
    }

    /// <summary>
    /// Waits until completed or the timeout passes. Spins briefly first (waking a parked thread
    /// costs tens of microseconds here), then blocks; a worker thread that blocks gives its CPU
    /// back to the scheduler meanwhile, so nested gets cannot starve the pool.
    /// </summary>
    internal bool WaitCompleted(TimeSpan timeout)
    {
        if (IsCompleted) return true;
        var spinTicks = Store.SpinTicks;
        var start = Stopwatch.GetTimestamp();
        var timeoutTicks = timeout == Timeout.InfiniteTimeSpan ? long.MaxValue : (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        var sw = new SpinWait();
        // A result coming from another process: poll for it ourselves while we spin (one thread
        // hand-off less than waiting for the connection's receive thread to wake us).
        var site = Producer?.Site;
        site?.BeginWait();
        try
        {
            while (Stopwatch.GetTimestamp() - start < Math.Min(spinTicks, timeoutTicks))
            {
                if (IsCompleted) return true;
                site?.Poll();
                sw.SpinOnce(sleep1Threshold: -1);
            }
        }
        finally { site?.EndWait(); }
        if (IsCompleted) return true;
        if (timeoutTicks <= spinTicks) return false;
        return BlockUntilCompleted(start, timeoutTicks);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool BlockUntilCompleted(long start, long timeoutTicks)
    {
        var blocked = Workers.WorkerContext.EnterBlockedAny();
        try
        {
            lock (this)
            {
                _blockedGetters++;
                try
                {
                    while (_state == Pending)
                    {
                        if (timeoutTicks == long.MaxValue) { Monitor.Wait(this); continue; }
                        var left = timeoutTicks - (Stopwatch.GetTimestamp() - start);
                        if (left <= 0) return false;
                        Monitor.Wait(this, TimeSpan.FromSeconds(left / (double)Stopwatch.Frequency));
                    }
                    return true;
                }
                finally { _blockedGetters--; }
            }
        }
        finally { blocked?.Dispose(); }
    }

    /// <summary>Throws the stored error, or ObjectLost when freed. Call only once completed.</summary>
    internal void ThrowIfNotReady()
    {
        var s = Volatile.Read(ref _state);
        if (s == Ready) return;
        if (s == Failed) throw _error!; // shared by every getter; its remote data is immutable
        if (s == Freed) throw _error is ObjectFreedException freed ? freed : ExceptionFactory.ObjectFreed(Id);
        throw new InvalidOperationException($"Object {Id} is not completed.");
    }

}
