using System.Runtime.CompilerServices;
using Ray.Objects;

namespace Ray;

/// <summary>
/// A typed reference to an object. Await it, or <see cref="Get()"/> it, to read the value;
/// pass it as an argument to another task to have that task run once the value is ready.
/// </summary>
public sealed class ObjectRef<T> : ObjectRef
{
    internal ObjectRef(ObjectEntry<T> entry) : base(entry) { }

    internal ObjectEntry<T> TypedEntry => (ObjectEntry<T>)Entry;

    /// <summary>Blocks until the value is ready and returns it; throws the task's error if it failed.</summary>
    public T Get() => Get(Timeout.InfiniteTimeSpan);

    /// <summary>
    /// Blocks up to <paramref name="timeout"/> for the value. Throws
    /// <see cref="GetTimeoutException"/> when it passes; the object is left intact.
    /// </summary>
    public T Get(TimeSpan timeout)
    {
        ThrowIfDisposed();
        var entry = TypedEntry;
        entry.WaitCompletedOrThrow(timeout);
        var value = entry.GetValue();
        GC.KeepAlive(this); // the handle must outlive the read, or its finalizer could free the value
        return value;
    }

    /// <summary>Lets <c>await objectRef</c> work. Continuations run on the thread pool.</summary>
    public ObjectRefAwaiter<T> GetAwaiter() => new(this);

    /// <summary>A task that completes with the value (or the error).</summary>
    public Task<T> AsTask()
    {
        var listener = new TaskListener<T>(this);
        if (!Entry.TryAddListener(listener)) listener.OnObjectCompleted(Entry);
        return listener.Task;
    }

    /// <summary>
    /// Awaits the value. Cancelling <paramref name="cancellationToken"/> stops this wait only
    /// (<see cref="OperationCanceledException"/>); the task goes on and the object stays.
    /// </summary>
    public Task<T> GetAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfDisposed();
        if (!cancellationToken.CanBeCanceled) return AsTask();
        if (cancellationToken.IsCancellationRequested) return Task.FromCanceled<T>(cancellationToken);
        var listener = new TaskListener<T>(this);
        if (!Entry.TryAddListener(listener))
        {
            listener.OnObjectCompleted(Entry);
            return listener.Task;
        }
        var registration = cancellationToken.Register(static s =>
        {
            var (self, l, token) = ((ObjectRef<T>, TaskListener<T>, CancellationToken))s!;
            self.Entry.RemoveListener(l); // nothing left behind on an object that may never complete
            l.Cancel(token);
        }, (this, listener, cancellationToken));
        listener.Task.ContinueWith(static (_, r) => ((CancellationTokenRegistration)r!).Dispose(), registration,
            CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        return listener.Task;
    }

    private sealed class TaskListener<TValue>(ObjectRef<TValue> owner) : IObjectListener
    {
        private readonly TaskCompletionSource<TValue> _tcs = new(TaskCreationOptions.RunContinuationsAsynchronously);
        internal Task<TValue> Task => _tcs.Task;

        internal void Cancel(CancellationToken token) => _tcs.TrySetCanceled(token);

        public void OnObjectCompleted(ObjectEntry entry)
        {
            try { _tcs.TrySetResult(owner.TypedEntry.GetValue()); }
            catch (Exception e) { _tcs.TrySetException(e); }
        }
    }
}

/// <summary>The awaiter of an <see cref="ObjectRef{T}"/>.</summary>
public readonly struct ObjectRefAwaiter<T> : ICriticalNotifyCompletion
{
    private readonly ObjectRef<T> _ref;

    internal ObjectRefAwaiter(ObjectRef<T> objectRef) => _ref = objectRef;

    /// <summary>True when the value or error is already there.</summary>
    public bool IsCompleted => _ref.Entry.IsCompleted;

    /// <summary>The value; throws the task's error if it failed.</summary>
    public T GetResult() => _ref.Get();

    /// <inheritdoc />
    public void OnCompleted(Action continuation) => Schedule(continuation, flowContext: true);

    /// <inheritdoc />
    public void UnsafeOnCompleted(Action continuation) => Schedule(continuation, flowContext: false);

    private void Schedule(Action continuation, bool flowContext)
    {
        // Like Task's awaiter: resume on the caller's synchronization context when it has one
        // (an async actor's thread, a UI thread), else on the thread pool.
        var sc = SynchronizationContext.Current;
        if (sc is not null && sc.GetType() == typeof(SynchronizationContext)) sc = null;
        var listener = new ContinuationListener(continuation, flowContext ? ExecutionContext.Capture() : null, sc);
        if (!_ref.Entry.TryAddListener(listener)) listener.OnObjectCompleted(_ref.Entry);
    }
}

/// <summary>
/// Runs an await continuation on the awaiting code's synchronization context, or on the
/// thread pool; never inline on the completing worker, which holds a lease.
/// </summary>
internal sealed class ContinuationListener(Action continuation, ExecutionContext? context, SynchronizationContext? sync)
    : IObjectListener, IThreadPoolWorkItem
{
    public void OnObjectCompleted(ObjectEntry entry)
    {
        if (sync is not null) sync.Post(static s => ((ContinuationListener)s!).Execute(), this);
        else ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
    }

    public void Execute()
    {
        if (context is null) continuation();
        else ExecutionContext.Run(context, static s => ((Action)s!)(), continuation);
    }
}
