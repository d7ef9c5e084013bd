using System.Collections.Concurrent;
using System.Diagnostics;
using Ray.Objects;
using Ray.Scheduling;
using Ray.Tasks;
using Ray.Workers;

namespace Ray.Actors;

/// <summary>
/// A live actor: its own worker thread, mailbox and state. The in-process form of Ray's
/// dedicated actor worker.
///
/// 1. Created: resources for its life are acquired (waiting if they are busy), then the
///    constructor runs on the actor's thread. If it throws, the actor is dead.
/// 2. Calls are taken from the mailbox in submission order. With MaxConcurrency 1 each call
///    finishes before the next starts (an async one included); above 1, sync calls run on
///    the thread pool and async calls interleave at awaits on the actor thread.
/// 3. Killed (or the runtime stops): queued and running calls fail with ActorDied, the name
///    is released, then the resources.
/// </summary>
internal sealed class ActorInstance
{
    private readonly ConcurrentQueue<ActorCallSpec> _calls = new();
    private readonly ConcurrentQueue<(SendOrPostCallback Callback, object? State)> _posted = new();
    private readonly HashSet<ActorCallSpec> _running = new();
    private readonly Parker _parker = new();
    private readonly Func<object> _factory;
    private readonly Thread _thread;
    private readonly CancellationTokenSource _stop = new();
    private readonly WorkerContext _context;
    private object? _instance;
    private volatile Exception? _death;
    private volatile ActorCallSpec? _current; // the sync call running on the actor thread
    private int _inFlight;
    private volatile bool _started; // a remote actor was created: calls may be sent directly

    internal ActorInstance(Runtime.RuntimeCore core, ActorId id, Type type, ActorOptions options,
        ResourceSet request, Func<object> factory)
    {
        Core = core;
        Id = id;
        ActorType = type;
        Options = options;
        Request = request;
        _factory = factory;
        _context = new WorkerContext(core, pool: null);
        _thread = new Thread(Loop) { IsBackground = true, Name = $"ray-actor-{type.Name}" };
    }

    internal Runtime.RuntimeCore Core { get; }
    internal ActorId Id { get; }
    internal Type ActorType { get; }
    internal ActorOptions Options { get; }
    internal ResourceSet Request { get; }
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

    /// <summary>Set for an actor that lives in a worker process (a connected driver); calls are sent there.</summary>
    internal Cluster.Driver.RemoteActorLink? Remote { get; set; }

    internal ObjectRef<TR> Submit<TR>(ActorCallSpec spec, FunctionDescriptor descriptor)
    {
        var result = Core.Store.CreatePending<TR>();
        spec.Init(Core.NewTaskId(), Core.ActorClass, TaskOptions.Default, descriptor.Name, result, descriptor);
        spec.MarkQueued();
        Core.Stats.OnSubmitted();
        if (Remote is { } remote && TrySendDirect(spec, remote)) return new ObjectRef<TR>(result);
        _calls.Enqueue(spec);
        // Checked after enqueueing: a kill that raced us either sees this call in the queue
        // or we see the death here; failing twice is harmless (the first wins).
        if (_death is { } death) spec.FailSystem(death);
        else _parker.TryWake();
        return new ObjectRef<TR>(result);
    }

    // Remote actors: calls are sent in mailbox order under this lock. A caller whose call can go
    // at once (nothing queued before it, arguments ready) sends it on its own thread, which
    // saves the hand-off to the actor thread (a wake-up, tens of microseconds here).
    private readonly object _sendOrder = new();

    private bool TrySendDirect(ActorCallSpec spec, Cluster.Driver.RemoteActorLink remote)
    {
        if (_death is not null || !_started || !_calls.IsEmpty || !spec.ArgumentsReady || remote.IsRestarting || !Monitor.TryEnter(_sendOrder)) return false;
        try
        {
            if (!_calls.IsEmpty) return false;
            spec.SendTo(remote);
            return true;
        }
        finally { Monitor.Exit(_sendOrder); }
    }

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
        Remote?.Kill();
        _parker.TryWake();
    }

    internal void Join(TimeSpan timeout)
    {
        if (_thread.IsAlive && !IsOnActorThread) _thread.Join(timeout);
    }

    private void Loop()
    {
        WorkerContext.Install(_context);
        var acquired = false;
        try
        {
            try
            {
                if (Remote is { } remote)
                {
                    remote.Start(); // the raylet holds its resources
                    _started = true;
                    Created?.SetValue(Unit.Value, "actor creation");
                }
                else
                {
                    // Kept, and safe: this is the actor's own dedicated thread, before it runs any of
                    // the actor's code; the acquire completes from the scheduler's release path (or
                    // _stop), never from this thread or the thread pool's starvation.
                    Core.Scheduler.AcquireForActorAsync(Request, _stop.Token).GetAwaiter().GetResult();
                    acquired = true;
                    SynchronizationContext.SetSynchronizationContext(new ActorSynchronizationContext(this));
                    _instance = _factory();
                }
            }
            catch (OperationCanceledException) { }
            catch (Exception e)
            {
                var inner = e is System.Reflection.TargetInvocationException { InnerException: { } i } ? i : e;
                Kill(Remote is { IsAttached: true }
                    ? ExceptionFactory.ActorWorkerDied(Id, ActorType.Name, inner.Message, 0) // a borrowed handle whose actor's worker cannot be reached
                    : ExceptionFactory.ActorCreationFailed(Id, ActorType.Name, inner));
            }
            while (_death is null) RunOnce();
        }
        finally
        {
            Created?.Fail(DeathOrShutdown); // no-op once created
            Created?.Release();
            Drain();
            if (_instance is IDisposable d) { try { d.Dispose(); } catch { /* the actor is gone either way */ } }
            if (acquired) Core.Scheduler.ReleaseFromActor(Request);
            Core.OnActorExited(this);
        }
    }

    private void RunOnce()
    {
        while (_posted.TryDequeue(out var p)) p.Callback(p.State);
        if (Remote is not null)
        {
            lock (_sendOrder)
            {
                if (_calls.TryDequeue(out var next))
                {
                    Dispatch(next);
                    return;
                }
            }
        }
        else if (Volatile.Read(ref _inFlight) < Options.MaxConcurrency && _calls.TryDequeue(out var call))
        {
            Dispatch(call);
            return;
        }
        if (!_posted.IsEmpty) return;
        if (Spin()) return;
        _parker.Prepare();
        if (!_posted.IsEmpty || (!_calls.IsEmpty && Volatile.Read(ref _inFlight) < Options.MaxConcurrency) || _death is not null)
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
            if (!_calls.IsEmpty && Volatile.Read(ref _inFlight) < Options.MaxConcurrency) return true;
            sw.SpinOnce(sleep1Threshold: -1);
        }
        return false;
    }

    private void Dispatch(ActorCallSpec call)
    {
        if (Remote is { } remote)
        {
            call.SendTo(remote);
            return;
        }
        var instance = _instance!;
        if (Options.MaxConcurrency > 1 && !call.IsAsync)
        {
            Track(call);
            ThreadPool.UnsafeQueueUserWorkItem(static s =>
            {
                var (self, c, inst) = s;
                // Each threaded call gets its own context, so RayContext sees this call.
                var ctx = WorkerContext.Swap(new WorkerContext(self.Core, pool: null) { CurrentTask = c });
                try { c.RunOn(inst); }
                finally
                {
                    WorkerContext.Swap(ctx);
                    self.Untrack(c);
                }
            }, (this, call, instance), preferLocal: false);
            return;
        }
        // On the actor thread. A sync call finishes before the next starts, so it needs no
        // tracking; an async one is tracked until its task completes.
        _context.CurrentTask = call;
        _current = call;
        if (_death is { } death) call.FailSystem(death); // killed between dequeue and start
        Task? pending;
        try { pending = call.RunOn(instance); }
        finally
        {
            _current = null;
            _context.CurrentTask = null;
        }
        if (pending is null) return;
        Track(call);
        _ = AwaitCall(call, pending);
    }

    private async Task AwaitCall(ActorCallSpec call, Task pending)
    {
        try { await pending; } // resumes on the actor thread
        catch (Exception e) { call.FailSystem(e); } // should not happen: the call's own wrapper catches everything
        finally { Untrack(call); }
    }

    private void Track(ActorCallSpec call)
    {
        Interlocked.Increment(ref _inFlight);
        lock (_running) _running.Add(call);
    }

    private void Untrack(ActorCallSpec call)
    {
        lock (_running) _running.Remove(call);
        Interlocked.Decrement(ref _inFlight);
        if (!IsOnActorThread) _parker.TryWake();
    }

    private void Drain()
    {
        var death = DeathOrShutdown;
        while (_calls.TryDequeue(out var c)) c.FailSystem(death);
        _current?.FailSystem(death);
        ActorCallSpec[] running;
        lock (_running) running = _running.ToArray();
        foreach (var c in running) c.FailSystem(death);
    }
}
