using Ray.Objects;
using Ray.Scheduling;

namespace Ray.Tasks;

/// <summary>
/// A submitted task (or actor call): what to run, its arguments, options and result object.
/// Typed subclasses (generated per arity) hold the delegate and arguments, so running a task
/// is a direct delegate call: no reflection and no boxing per call.
///
/// 1. Submitted: arguments that are refs to pending objects are tracked; the task waits.
/// 2. When the last one is ready, it is queued on its scheduling class (a failed argument
///    fails the task at once, with the cause chained).
/// 3. A worker runs it: arguments are resolved, user code runs, the result is stored.
/// 4. On an exception: retried if allowed, else the result fails with the remote error.
/// Cancellation moves a waiting or queued task straight to cancelled; a running one gets its
/// token signalled and its result fails as cancelled.
/// </summary>
internal abstract class SubmittedTask : IObjectListener
{
    private const int Waiting = 0, Queued = 1, Running = 2, Done = 3, Cancelled = 4;

    private int _status;
    private int _pendingDeps = 1; // a guard released once all dependencies are registered
    private int _argsReleased;
    private CancellationTokenSource? _cts;

    internal Runtime.RuntimeCore Core { get; private set; } = null!;
    internal TaskId Id { get; private set; }
    internal SchedulingClass Class { get; private set; } = null!;
    internal TaskOptions Options { get; private set; } = null!;

    /// <summary>
    /// The runtime environment it runs with in a worker process (its own over the job's, or over
    /// the submitting task's in a worker; null: none), fixed at submission: the one in force in
    /// this process may change before the task is pushed.
    /// </summary>
    internal RuntimeEnvs.PreparedRuntimeEnv? Env { get; set; }
    internal string Name { get; private set; } = "";
    internal ObjectEntry Result { get; private set; } = null!;
    internal int Attempt { get; private protected set; }

    internal bool IsCancellationRequested => Volatile.Read(ref _status) == Cancelled;

    /// <summary>Done or cancelled: nothing is left to run.</summary>
    internal bool IsFinished => Volatile.Read(ref _status) >= Done;

    /// <summary>Attaches the runtime before arguments are captured (so a failed capture can release them).</summary>
    internal void Bind(Runtime.RuntimeCore core) => Core = core;

    /// <summary>Where the task runs when that is outside this process (set by the submitter as it sends the task).</summary>
    internal IExecutionSite? Site { get; set; }

    /// <summary>True while the task runs (in-process, or pushed to a worker process).</summary>
    internal bool IsRunning => Volatile.Read(ref _status) == Running;

    /// <summary>For a streaming call: the owner's stream its items go to (null otherwise).</summary>
    internal ItemStream? Stream { get; init; }

    /// <summary>The function this task runs (null for tasks made without one, e.g. tests).</summary>
    internal FunctionDescriptor? Function { get; private set; }

    internal void Init(TaskId id, SchedulingClass cls, TaskOptions options, string name, ObjectEntry result, FunctionDescriptor? function = null)
    {
        Id = id;
        Function = function;
        Class = cls;
        Options = options;
        Name = name;
        Result = result;
        result.Producer = this;
    }

    // ---- dependencies ----

    /// <summary>Registers every ref argument (generated per arity).</summary>
    internal abstract void RegisterDependencies();

    protected void Track(ObjectEntry? dependency)
    {
        if (dependency is null) return;
        if (dependency.IsCompleted)
        {
            if (dependency.IsFailed) FailFromDependency(dependency);
            return;
        }
        Interlocked.Increment(ref _pendingDeps);
        if (!dependency.TryAddListener(this)) OnObjectCompleted(dependency);
    }

    /// <summary>Waits for passed refs' objects to complete (see <see cref="ArgSlot{T}.Passed"/>); their failure does not fail the task.</summary>
    protected void TrackPassed(ObjectEntry[]? passed)
    {
        if (passed is null) return;
        foreach (var e in passed)
        {
            if (e.IsCompleted) continue;
            Interlocked.Increment(ref _pendingDeps);
            if (!e.TryAddListener(this)) OnObjectCompleted(e);
        }
    }

    /// <summary>Drops the registration guard: queues the task if nothing is pending.</summary>
    internal void DependenciesRegistered() => DependencyDone();

    public void OnObjectCompleted(ObjectEntry entry)
    {
        if (entry.IsFailed && ArgumentIndexOf(entry) != 0) FailFromDependency(entry); // a passed ref's failure goes to the task with it
        DependencyDone();
    }

    private void DependencyDone()
    {
        if (Interlocked.Decrement(ref _pendingDeps) != 0) return;
        if (Interlocked.CompareExchange(ref _status, Queued, Waiting) == Waiting) Core.Scheduler.Enqueue(this);
    }

    private void FailFromDependency(ObjectEntry dependency)
    {
        if (Interlocked.CompareExchange(ref _status, Done, Waiting) != Waiting) return;
        var index = ArgumentIndexOf(dependency);
        Finish(ExceptionFactory.DependencyFailed(Name, Id, index, dependency.Id, dependency.Error!), failed: true);
    }

    /// <summary>The 1-based position of a ref argument (generated per arity).</summary>
    internal abstract int ArgumentIndexOf(ObjectEntry dependency);

    // ---- running ----

    /// <summary>Resolves arguments, runs user code and stores the result (generated per arity).</summary>
    protected abstract void Invoke();

    /// <summary>Releases the references the arguments hold (generated per arity).</summary>
    protected abstract void ReleaseArguments();

    /// <summary>Releases arguments captured so far when submission fails half way.</summary>
    internal abstract void AbandonArguments();

    /// <summary>How many arguments the function takes (generated per arity).</summary>
    internal abstract int ArgumentCount { get; }

    /// <summary>Calls <paramref name="visitor"/> with each argument in order, typed (generated per arity): how a submitter sends them elsewhere.</summary>
    internal abstract void VisitArguments(IArgumentVisitor visitor);

    // ---- running in a worker process (cluster mode) ----

    /// <summary>Queued to running before the task is pushed to a worker; false when it was cancelled.</summary>
    internal bool TryBeginRemote() => TryMarkRunning();

    /// <summary>The worker returned a value: it completes the result (visiting it), or is discarded when the task already ended.</summary>
    internal void CompleteRemote(IIncomingValue value)
    {
        if (Interlocked.CompareExchange(ref _status, Done, Running) != Running)
        {
            // Cancelled or failed meanwhile: a result the worker put in the node's store has no owner.
            value.Discard();
            ReleaseArgsOnce();
            return;
        }
        try { Result.Accept(value); }
        catch (Exception e) // whatever went wrong decoding, the result must not stay pending
        {
            Result.Fail(e is RayException ? e : ExceptionFactory.CannotDeserialize(Result.ValueType, e));
            Core.Stats.OnFailed();
            Result.Producer = null;
            ReleaseArgsOnce();
            return;
        }
        Core.Stats.OnFinished();
        Result.Producer = null;
        ReleaseArgsOnce();
    }

    /// <summary>User code threw in the worker: retried if the options allow, else the result fails.</summary>
    internal void FailRemote(string type, string message, string? stack, bool userError)
    {
        if (userError && Options.ShouldRetryRemote(type) && TryRequeueForRetry()) return;
        Exception error = userError
            ? ExceptionFactory.RemoteTaskFailed(Name, Id, type, message, stack)
            : (Exception)ExceptionFactory.WorkerFailed(Name, Id, type + ": " + message);
        FailRunning(error);
    }

    /// <summary>
    /// The task ran in its worker, which could not store its result (or read an argument): the
    /// runtime's own error, raised again here as what it was (as the embedded runtime raises it),
    /// and not retried.
    /// </summary>
    internal void FailStore(ObjectId about, string type, string message, string? stack)
    {
        FailRunning(ExceptionFactory.RemoteStoreError(Name, Id, Result.Id, about, Result.ValueType, type, message, stack));
    }

    // A worker's error reply: fails the result when the task is still running here (a cancel or
    // a lost connection may have finished it first); its arguments are released either way.
    private void FailRunning(Exception error)
    {
        if (Interlocked.CompareExchange(ref _status, Done, Running) == Running) Finish(error, failed: true);
        else ReleaseArgsOnce();
    }

    /// <summary>
    /// A remote call that was running is lost for good (its actor died, or it could not be
    /// resent): the result fails and its arguments are released (no reply will ever come).
    /// </summary>
    internal void FailLost(Exception error)
    {
        if (Interlocked.CompareExchange(ref _status, Done, Running) == Running) Finish(error, failed: true);
        else FailSystem(error); // not running (queued): the usual path releases what it holds
    }

    /// <summary>A task marked running that was never sent (its connection was retiring or closed): queued again, no attempt counted.</summary>
    internal void RequeueUnsent()
    {
        if (Interlocked.CompareExchange(ref _status, Queued, Running) == Running) Core.Scheduler.Enqueue(this);
    }

    /// <summary>The worker process died while running this task: a system failure, retried up to MaxRetries.</summary>
    internal void OnWorkerDied(string why)
    {
        if (TryRequeueForRetry()) return;
        if (Interlocked.CompareExchange(ref _status, Done, Running) == Running)
            Finish(ExceptionFactory.WorkerDied(Name, Id, Attempt + 1, why), failed: true);
        else ReleaseArgsOnce();
    }

    internal void Run()
    {
        if (!TryMarkRunning()) return; // cancelled while queued
        try
        {
            Invoke();
            CompleteSuccess();
        }
        catch (Exception e)
        {
            if (!TryRetry(e)) CompleteFailure(e);
        }
    }

    /// <summary>Queued to running; false when the task was cancelled meanwhile.</summary>
    protected bool TryMarkRunning() => Interlocked.CompareExchange(ref _status, Running, Queued) == Queued;

    /// <summary>Marks a task queued without dependency tracking (actor calls keep mailbox order instead).</summary>
    internal void MarkQueued()
    {
        Interlocked.CompareExchange(ref _status, Queued, Waiting);
        Interlocked.Exchange(ref _pendingDeps, 0);
    }

    protected void CompleteSuccess()
    {
        if (Interlocked.CompareExchange(ref _status, Done, Running) == Running) Finish(null, failed: false);
        else ReleaseArgsOnce(); // cancelled while running: the result already failed
    }

    protected void CompleteFailure(Exception e)
    {
        if (Interlocked.CompareExchange(ref _status, Done, Running) == Running) Finish(ToTaskError(e), failed: true);
        else ReleaseArgsOnce();
    }

    /// <summary>Fails a task whose argument failed, before it ran (actor calls check on the actor).</summary>
    protected void FailDependencyBeforeRun(int index, ObjectEntry dependency)
    {
        if (Interlocked.CompareExchange(ref _status, Done, Queued) != Queued) return;
        Exception cause = dependency.IsFailed ? dependency.Error! : ExceptionFactory.ObjectFreed(dependency.Id);
        Finish(ExceptionFactory.DependencyFailed(Name, Id, index, dependency.Id, cause), failed: true);
    }

    private bool TryRetry(Exception e)
    {
        if (e is ResultStoreException || Volatile.Read(ref _status) == Cancelled) return false;
        return Options.ShouldRetry(e) && TryRequeueForRetry();
    }

    /// <summary>A running task with retries left goes back to its queue as a new attempt (every retry path).</summary>
    private bool TryRequeueForRetry()
    {
        if ((Options.MaxRetries >= 0 && Attempt >= Options.MaxRetries) || Interlocked.CompareExchange(ref _status, Queued, Running) != Running) return false;
        Attempt++;
        Core.Stats.OnRetried();
        Core.Scheduler.Enqueue(this);
        return true;
    }

    /// <summary>User exceptions become a typed task error; the runtime's own result errors pass through.</summary>
    protected Exception ToTaskError(Exception e) =>
        e is ResultStoreException store ? store.InnerException! : ExceptionFactory.TaskFailed(Name, Id, e);

    /// <summary>Stores the value user code returned; a serialization failure or a full store is not user code's and is not retried.</summary>
    protected void StoreResult<TResult>(in TResult value)
    {
        try { ((ObjectEntry<TResult>)Result).SetValue(value, "the result of " + Name); }
        catch (Exception e) when (e is RaySerializationException or ObjectStoreFullException) { throw new ResultStoreException(e); }
    }

    /// <summary>Records a failure that is not user code's (e.g. the runtime shut down).</summary>
    internal void FailSystem(Exception error)
    {
        int s;
        while (true)
        {
            s = Volatile.Read(ref _status);
            if (s is Done or Cancelled) return;
            if (Interlocked.CompareExchange(ref _status, Done, s) == s) break;
        }
        Result.Fail(error);
        Core.Stats.OnFailed();
        Result.Producer = null;
        // A running task still reads its arguments: its runner releases them when it returns.
        if (s != Running) ReleaseArgsOnce();
    }

    internal bool Cancel() => Stop(null);

    private List<SubmittedTask>? _children; // submitted while this ran (guarded by this): cancelled with it

    /// <summary>A task this one submitted while it ran here: a (recursive) cancel of this one cancels it.</summary>
    internal void AddChild(SubmittedTask child)
    {
        lock (this)
        {
            var list = _children ??= new List<SubmittedTask>();
            if (list.Count >= 64 && list.Count % 64 == 0) list.RemoveAll(static t => t.IsFinished);
            list.Add(child);
        }
    }

    /// <summary>The children recorded so far (taken once, by a cancel).</summary>
    internal List<SubmittedTask>? TakeChildren()
    {
        lock (this)
        {
            var list = _children;
            _children = null;
            return list;
        }
    }

    /// <summary>
    /// Fails the task with <paramref name="error"/> wherever it is (queued or running), as a cancel
    /// does: a running task sees its token cancelled and its late result is dropped (its
    /// placement group was removed).
    /// </summary>
    internal bool Abort(Exception error) => Stop(error);

    private bool Stop(Exception? error)
    {
        while (true)
        {
            var s = Volatile.Read(ref _status);
            if (s is Done or Cancelled) return false;
            if (Interlocked.CompareExchange(ref _status, Cancelled, s) != s) continue;
            if (error is null) Core.Stats.OnCancelled();
            else Core.Stats.OnFailed();
            Result.Fail(error ?? ExceptionFactory.Cancelled(Name, Id));
            Result.Producer = null;
            lock (this) _cts?.Cancel();
            if (s != Running) ReleaseArgsOnce(); // a running task releases them when it returns
            return true;
        }
    }

    /// <summary>The token user code sees through <see cref="RayContext.CancellationToken"/>.</summary>
    internal CancellationToken GetCancellationToken()
    {
        lock (this)
        {
            _cts ??= new CancellationTokenSource();
            if (Volatile.Read(ref _status) == Cancelled) _cts.Cancel();
            return _cts.Token;
        }
    }

    protected void Finish(Exception? error, bool failed)
    {
        if (failed)
        {
            Result.Fail(error!);
            Core.Stats.OnFailed();
        }
        else Core.Stats.OnFinished();
        Result.Producer = null;
        ReleaseArgsOnce();
    }

    protected void ReleaseArgsOnce()
    {
        if (Interlocked.Exchange(ref _argsReleased, 1) == 0) ReleaseArguments();
    }
}

/// <summary>Carries a result-serialization failure out of generated code, unwrapped by the runner.</summary>
internal sealed class ResultStoreException(Exception inner) : Exception(inner.Message, inner);
