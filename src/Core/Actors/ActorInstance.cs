using System.Collections.Concurrent;
using System.Diagnostics;
using Ray.Objects;
using Ray.Scheduling;
using Ray.Tasks;
using Ray.Workers;

namespace Ray.Actors;

/// <summary>
/// A live actor as its callers see it: its mailbox, its own thread, and whether it is dead.
/// Where its calls run is its <see cref="IActorTransport"/>: in this process
/// (<see cref="LocalActorHost"/>) or in a worker process (process mode).
///
/// 1. Created: the transport makes the actor on the actor's thread (in-process: resources for
///    its life, then the constructor). If that fails, the actor is dead.
/// 2. Calls are taken from the mailbox in submission order and handed to the transport when it
///    has room (MaxConcurrency); a call whose arguments are ready and that nothing is queued
///    before may be handed over by its caller when the transport takes that.
/// 3. Killed (or the runtime stops): queued and running calls fail with ActorDied, the name
///    is released, then what the transport held.
/// </summary>
internal sealed class ActorInstance
{
    private readonly ConcurrentQueue<SubmittedActorCall> _calls = new();
    private readonly ConcurrentQueue<(SendOrPostCallback Callback, object? State)> _posted = new();
    private readonly Parker _parker = new();
    private readonly Thread _thread;
    private readonly CancellationTokenSource _stop = new();
    private volatile Exception? _death;
    private volatile bool _started; // the transport made the actor: callers may hand calls over

    internal ActorInstance(Runtime.RuntimeCore core, ActorId id, Type type, ActorOptions options, ResourceSet request,
        PlacementGroups.BundlePlacement? placement = null)
    {
        Placement = placement;
        Core = core;
        Id = id;
        ActorType = type;
        Options = options;
        Request = request;
        Context = new WorkerContext(core, pool: null) { Actor = this };
        _thread = new Thread(Loop) { IsBackground = true, Name = $"ray-actor-{type.Name}" };
    }

    /// <summary>Where the calls run; set once, before <see cref="Start"/>.</summary>
    internal IActorTransport Transport { get; set; } = null!;

    /// <summary>The context of the actor's thread (RayContext inside its calls).</summary>
    internal WorkerContext Context { get; }

    internal Runtime.RuntimeCore Core { get; }
    internal ActorId Id { get; }
    internal Type ActorType { get; }
    internal ActorOptions Options { get; }
    internal ResourceSet Request { get; }

    /// <summary>The namespace its name is registered in (named actors; set at creation).</summary>
    internal string? Namespace { get; init; }

    /// <summary>The placement group bundle the actor's resources come from; null: the node's.</summary>
    internal PlacementGroups.BundlePlacement? Placement { get; }
    internal bool IsDead => _death is not null;
    internal bool IsOnActorThread => Thread.CurrentThread == _thread;
    internal Exception? DeathCause => _death;

    /// <summary>Why calls fail now: the death cause, or the shutdown error when none was recorded.</summary>
    internal Exception DeathOrShutdown => _death ?? ExceptionFactory.ActorShutdown(Id, ActorType.Name);

    internal void Start() => _thread.Start();

    /// <summary>
    /// For an actor in a worker process: completes once the actor exists there (or fails with
    /// why it could not be made). A task that takes the actor's handle waits for it, since the
    /// handle goes to the task's worker with the address of the actor's worker.
    /// </summary>
    internal ObjectEntry<Unit>? Created { get; private set; }

    /// <summary>Makes <see cref="Created"/> (cluster mode, before <see cref="Start"/>).</summary>
    internal void TrackCreation() => Created = Core.Store.CreatePending<Unit>();

    internal ObjectRef<TR> Submit<TR>(SubmittedActorCall spec, FunctionDescriptor descriptor)
    {
        var result = Core.Store.CreatePending<TR>();
        spec.Init(Core.NewTaskId(), Core.ActorClass, TaskOptions.Default, descriptor.Name, result, descriptor);
        spec.MarkQueued();
        Core.Stats.OnSubmitted();
        if (Transport.TakesCallsFromCallers && TryDispatchFromCaller(spec)) return new ObjectRef<TR>(result);
        _calls.Enqueue(spec);
        // Checked after enqueueing: a kill that raced us either sees this call in the queue
        // or we see the death here; failing twice is harmless (the first wins).
        if (_death is { } death) spec.FailSystem(death);
        else _parker.TryWake();
        return new ObjectRef<TR>(result);
    }

    // Calls are handed to the transport in mailbox order under this lock. A caller whose call can
    // go at once (nothing queued before it, arguments ready) hands it over on its own thread, which
    // saves the hand-off to the actor thread (a wake-up, tens of microseconds here).
    private readonly object _sendOrder = new();

    private bool TryDispatchFromCaller(SubmittedActorCall spec)
    {
        if (_death is not null || !_started || !_calls.IsEmpty || !spec.ArgumentsReady || Transport.IsRestarting || !Monitor.TryEnter(_sendOrder)) return false;
        try
        {
            if (!_calls.IsEmpty) return false;
            Transport.Dispatch(spec);
            return true;
        }
        finally { Monitor.Exit(_sendOrder); }
    }

    // ---- lifetime by handles ----

    private int _handles;
    private volatile bool _escaped;

    /// <summary>A new handle to this actor exists in this process.</summary>
    internal void AddHandle() => Interlocked.Increment(ref _handles);

    /// <summary>
    /// The actor's address left this process (a handle sent to a worker, or its name published
    /// cluster-wide): handles elsewhere may reach it, and they are not counted here, so it no
    /// longer ends when this process's handles are gone (it lives until killed or its owner ends).
    /// </summary>
    internal void MarkEscaped() => _escaped = true;

    /// <summary>
    /// A handle was collected. When it was the last one, nothing can send the actor calls any
    /// more: as in Ray, it ends once the calls already sent have finished (a graceful terminate,
    /// never restarted), and its name is freed. Detached actors, actors whose handles left the
    /// process, and borrowed actors (their owner decides) are left alone.
    /// </summary>
    internal void ReleaseHandle()
    {
        if (Interlocked.Decrement(ref _handles) != 0) return;
        if (!Core.Options.EndActorsWithoutHandles) return;
        if (_escaped || _death is not null || Options.Lifetime == ActorLifetime.Detached || Core.IsStopped || Transport is null || Transport.IsAttached) return;
        try { SubmitTerminate().Dispose(); }
        catch (RayException) { /* the runtime is stopping: it ends the actor itself */ }
    }

    private readonly object _childrenLock = new();
    private List<ActorInstance>? _children; // actors made from this actor's code: they die with it

    /// <summary>
    /// Records an actor this actor's code made: it dies when this one does (as Ray's owner
    /// rule for non-detached actors); at once if this one is already dead.
    /// </summary>
    internal void AddChild(ActorInstance child)
    {
        lock (_childrenLock)
        {
            if (_death is null)
            {
                (_children ??= new()).Add(child);
                return;
            }
        }
        Core.Kill(child, ExceptionFactory.ActorOwnerDied(child.Id, child.ActorType.Name, Id, ActorType.Name));
    }

    private void KillChildren()
    {
        List<ActorInstance>? children;
        lock (_childrenLock)
        {
            children = _children;
            _children = null;
        }
        if (children is null) return;
        foreach (var c in children) Core.Kill(c, ExceptionFactory.ActorOwnerDied(c.Id, c.ActorType.Name, Id, ActorType.Name));
    }

    /// <summary>
    /// Queues a graceful end (Ray's <c>__ray_terminate__</c>): calls queued before it finish,
    /// then the actor dies for good; the returned entry is ready once it has.
    /// </summary>
    internal ObjectRef<Unit> SubmitTerminate()
    {
        var call = new TerminateCall();
        call.Bind(Core);
        var result = Core.Store.CreatePending<Unit>();
        call.Init(Core.NewTaskId(), Core.ActorClass, TaskOptions.Default, $"{ActorType.Name}.Terminate", result);
        call.MarkQueued();
        _calls.Enqueue(call);
        if (_death is not null) call.Complete(); // already gone: nothing to wait for
        else _parker.TryWake();
        return new ObjectRef<Unit>(result);
    }

    // On the actor's thread, with every earlier call handed over: waits for them to finish,
    // then ends the actor (a kill that never restarts). Posted work keeps running meanwhile,
    // so async calls resuming on this thread can finish.
    private void Terminate(TerminateCall call)
    {
        while (!Transport.IsIdle && _death is null)
        {
            while (_posted.TryDequeue(out var p)) p.Callback(p.State);
            _parker.Prepare();
            if (!_posted.IsEmpty || Transport.IsIdle || _death is not null) _parker.Cancel();
            else _parker.Park(TimeSpan.FromMilliseconds(5));
        }
        Core.Kill(this, ExceptionFactory.ActorTerminated(Id, ActorType.Name));
        call.Complete();
    }

    /// <summary>Wakes the actor's thread (a call finished elsewhere: room for the next).</summary>
    internal void Wake() => _parker.TryWake();

    internal void Post(SendOrPostCallback callback, object? state)
    {
        _posted.Enqueue((callback, state));
        _parker.TryWake();
    }

    /// <summary>
    /// Marks the actor dead and fails its queued and running calls at once, as Ray's kill does.
    /// User code already running cannot be interrupted in .NET: it runs to its end, but its
    /// result is discarded; the thread exits after it.
    /// </summary>
    internal void Kill(Exception cause)
    {
        if (Interlocked.CompareExchange(ref _death, cause, null) is not null) return;
        _stop.Cancel();
        Drain();
        Transport.Kill();
        _parker.TryWake();
        KillChildren();
    }

    internal void Join(TimeSpan timeout)
    {
        if (_thread.IsAlive && !IsOnActorThread) _thread.Join(timeout);
    }

    private void Loop()
    {
        WorkerContext.Install(Context);
        try
        {
            try
            {
                Transport.Start(_stop.Token);
                _started = true;
                Created?.SetValue(Unit.Value, "actor creation");
            }
            catch (OperationCanceledException) { }
            catch (Exception e)
            {
                var inner = e is System.Reflection.TargetInvocationException { InnerException: { } i } ? i : e;
                Kill(Transport.IsAttached
                    ? ExceptionFactory.ActorWorkerDied(Id, ActorType.Name, inner.Message, 0) // a borrowed handle whose actor's worker cannot be reached
                    : inner is PlacementGroupRemovedException removed ? ExceptionFactory.ActorPlacementGroupRemoved(Id, ActorType.Name, removed)
                    : ExceptionFactory.ActorCreationFailed(Id, ActorType.Name, inner));
            }
            while (_death is null) RunOnce();
        }
        finally
        {
            Created?.Fail(DeathOrShutdown); // no-op once created
            Created?.Release();
            Drain();
            Transport.Stop();
            Core.OnActorExited(this);
        }
    }

    private void RunOnce()
    {
        while (_posted.TryDequeue(out var p)) p.Callback(p.State);
        if (Transport.HasRoom)
        {
            if (Transport.TakesCallsFromCallers)
            {
                // Callers may hand calls over too: order is kept under the lock.
                lock (_sendOrder)
                {
                    if (_calls.TryDequeue(out var next))
                    {
                        if (next is TerminateCall t) Terminate(t);
                        else Transport.Dispatch(next);
                        return;
                    }
                }
            }
            else if (_calls.TryDequeue(out var call))
            {
                if (call is TerminateCall t) Terminate(t);
                else Transport.Dispatch(call); // runs user code: never under a lock others take
                return;
            }
        }
        if (!_posted.IsEmpty) return;
        if (Spin()) return;
        _parker.Prepare();
        if (!_posted.IsEmpty || (!_calls.IsEmpty && Transport.HasRoom) || _death is not null)
        {
            _parker.Cancel();
            return;
        }
        _parker.Park(TimeSpan.FromSeconds(1));
    }

    private bool Spin()
    {
        var start = Stopwatch.GetTimestamp();
        var sw = new SpinWait();
        while (Stopwatch.GetTimestamp() - start < Core.Store.SpinTicks)
        {
            if (!_posted.IsEmpty || _death is not null) return true;
            if (!_calls.IsEmpty && Transport.HasRoom) return true;
            sw.SpinOnce(sleep1Threshold: -1);
        }
        return false;
    }

    private void Drain()
    {
        var death = DeathOrShutdown;
        while (_calls.TryDequeue(out var c)) c.FailSystem(death);
        Transport.FailRunning(death);
    }
}
