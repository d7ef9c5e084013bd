using Ray.Scheduling;
using Ray.Workers;

namespace Ray.Actors;

/// <summary>
/// An actor in this process (embedded mode, and the actors a worker process's nested runtime
/// makes): its resources are held from this node's ledger for its life, its constructor runs on
/// the actor's thread, and calls run with MaxConcurrency: one at a time on the actor's thread
/// (an async one included, until it completes), or above 1 through the <see cref="ActorExecutor"/>
/// that worker processes use too (sync calls on the actor's own threads, async calls interleaved
/// at awaits on the actor's thread).
/// </summary>
internal sealed class LocalActorHost(ActorInstance actor, Func<object> factory) : IActorTransport
{
    private readonly ActorInstance _actor = actor;
    private Func<object>? _factory = factory; // dropped once used: it holds the constructor's arguments
    private readonly HashSet<SubmittedActorCall> _running = new();
    private object? _instance;
    private ActorExecutor? _executor;
    private volatile SubmittedActorCall? _current; // the sync call running on the actor thread
    private int _inFlight;
    private int _acquired; // 1 while the actor holds its resources (released once: by a kill or at exit)
    private int _bundle = -1; // the placement group bundle they came from, if the actor is placed

    public bool HasRoom => Volatile.Read(ref _inFlight) < _actor.Options.MaxConcurrency;

    public bool TakesCallsFromCallers => false;

    public bool IsIdle => Volatile.Read(ref _inFlight) == 0 && _current is null;

    public bool IsRestarting => false;

    public bool IsAttached => false;

    public void Start(CancellationToken killed)
    {
        // Kept, and safe: this is the actor's own dedicated thread, before it runs any of the
        // actor's code; the acquire completes from the scheduler's release path (or the kill),
        // never from this thread or the thread pool's starvation.
        _bundle = _actor.Core.Scheduler.AcquireForActorAsync(_actor.Request, _actor.Placement, killed).GetAwaiter().GetResult();
        Volatile.Write(ref _acquired, 1);
        if (killed.IsCancellationRequested) // a kill that came between the grant and the line above
        {
            ReleaseResourcesOnce();
            killed.ThrowIfCancellationRequested();
        }
        var context = new ActorSynchronizationContext(_actor);
        SynchronizationContext.SetSynchronizationContext(context);
        var factory = _factory!;
        _factory = null;
        _instance = factory();
        if (_actor.Options.MaxConcurrency > 1)
            _executor = new ActorExecutor(_actor.Options.MaxConcurrency, $"ray-actor-{_actor.ActorType.Name}", context);
    }

    public void Dispatch(SubmittedActorCall call)
    {
        var instance = _instance!;
        if (_executor is { } executor)
        {
            Track(call);
            executor.Submit(new Work(this, call, instance));
            return;
        }
        // On the actor thread. A sync call finishes before the next starts, so it needs no
        // tracking; an async one is tracked until its task completes.
        var context = _actor.Context;
        context.CurrentTask = call;
        _current = call;
        if (_actor.DeathCause is { } death) call.FailSystem(death); // killed between dequeue and start
        Task? pending;
        try { pending = call.RunOn(instance); }
        finally
        {
            _current = null;
            context.CurrentTask = null;
        }
        if (pending is null) return;
        Track(call);
        _ = AwaitCall(call, pending);
    }

    private async Task AwaitCall(SubmittedActorCall call, Task pending)
    {
        try { await pending; } // resumes on the actor thread
        catch (Exception e) { call.FailSystem(e); } // should not happen: the call's own wrapper catches everything
        finally { Untrack(call); }
    }

    private void Track(SubmittedActorCall call)
    {
        Interlocked.Increment(ref _inFlight);
        lock (_running) _running.Add(call);
    }

    private void Untrack(SubmittedActorCall call)
    {
        lock (_running) _running.Remove(call);
        Interlocked.Decrement(ref _inFlight);
        if (!_actor.IsOnActorThread) _actor.Wake();
    }

    public void FailRunning(Exception death)
    {
        _current?.FailSystem(death);
        SubmittedActorCall[] running;
        lock (_running) running = _running.ToArray();
        foreach (var c in running) c.FailSystem(death);
    }

    // The kill's token stops a start waiting for resources. User code still running (a
    // constructor, a call) cannot be stopped in .NET: it runs to its end, but the actor's
    // resources go back now, as they would with its process in Ray.
    public void Kill() => ReleaseResourcesOnce();

    private void ReleaseResourcesOnce()
    {
        if (Interlocked.Exchange(ref _acquired, 0) == 1) _actor.Core.Scheduler.ReleaseFromActor(_actor.Request, _actor.Placement, _bundle);
    }

    public void Stop()
    {
        _executor?.Dispose();
        if (_instance is IDisposable d) { try { d.Dispose(); } catch { /* the actor is gone either way */ } }
        _instance = null; // its state (and the objects it refers to) is freed with it; handles may live on
        _factory = null;
        ReleaseResourcesOnce();
    }

    /// <summary>A call run by the executor; its end makes room for the next (Untrack).</summary>
    private sealed class Work(LocalActorHost host, SubmittedActorCall call, object instance) : IActorWork
    {
        public bool IsAsync => call.IsAsync;

        public void Run()
        {
            // Each threaded call gets its own context, so RayContext sees this call.
            var previous = WorkerContext.Swap(new WorkerContext(host._actor.Core, pool: null) { CurrentTask = call, Actor = host._actor });
            try { call.RunOn(instance); }
            finally
            {
                WorkerContext.Swap(previous);
                host.Untrack(call);
            }
        }

        public async Task RunAsync()
        {
            // On the actor's thread (its synchronization context): awaits resume there.
            var context = host._actor.Context;
            context.CurrentTask = call;
            Task? pending;
            try { pending = call.RunOn(instance); }
            finally { context.CurrentTask = null; }
            try { if (pending is not null) await pending; }
            finally { host.Untrack(call); }
        }
    }
}
