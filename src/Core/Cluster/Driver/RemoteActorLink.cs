using System.Reflection;
using Ray.Actors;
using Ray.Cluster.Wire;
using Ray.Tasks;

namespace Ray.Cluster.Driver;

/// <summary>
/// The driver's side of an actor living in a worker process: a dedicated worker leased for the
/// actor's life, the constructor call (kept, to restart the actor), and the connection its calls
/// travel on in submission order.
///
/// 1. <see cref="Start"/> (on the actor's thread): lease a worker for the actor's resources,
///    connect, send CreateActor; a constructor that throws kills the actor.
/// 2. Calls are sent in mailbox order as their arguments become ready
///    (<see cref="SubmittedActorCall.TryStartElsewhere"/>) and pipelined; replies complete them.
/// 3. The worker dies: with restarts left the actor is created again on a new worker and calls
///    that were in flight are sent again (up to MaxTaskRetries) or fail with ActorDied; without,
///    the actor dies.
/// 4. Kill: the lease goes back marked broken, so the raylet kills the process with its state.
/// </summary>
internal sealed class RemoteActorLink : IActorTransport
{
    private readonly ActorInstance _actor;
    private readonly ClusterSession _session;
    private readonly byte[]? _create;             // null for a borrowed handle (attached to an actor another process made)
    private readonly Wire.ActorAddress? _attached;
    private readonly object _lock = new();
    private WorkerChannel? _channel;
    private WorkerChannel? _connecting;                                  // being set up, not published yet
    private (WorkerChannel Channel, string Reason, SubmittedTask[] Lost)? _closedWhileConnecting; // its close, handled once published
    private volatile Task? _restarting; // written under _lock; read without it by IsRestarting
    private int _restarts;
    private volatile bool _dead;

    internal RemoteActorLink(ActorInstance actor, ClusterSession session, ConstructorInfo ctor, object?[] args)
    {
        _actor = actor;
        _session = session;
        _env = actor.Core.EnvFor(actor.Options.RuntimeEnv);
        _create = EncodeCreate(ctor, args, actor.Options.MaxConcurrency, _env);
    }

    private readonly RuntimeEnvs.PreparedRuntimeEnv? _env; // the actor's runtime environment (merged over the job's)

    private RemoteActorLink(ActorInstance actor, ClusterSession session, Wire.ActorAddress address)
    {
        _actor = actor;
        _session = session;
        _attached = address;
    }

    /// <summary>A link for a borrowed handle: calls go to the actor's worker at <paramref name="address"/>; no lease, restart or kill.</summary>
    internal static RemoteActorLink Attached(ActorInstance actor, ClusterSession session, Wire.ActorAddress address) => new(actor, session, address);

    /// <summary>True for a borrowed handle's link (<see cref="Attached"/>).</summary>
    public bool IsAttached => _attached is not null;

    /// <summary>Where the actor lives now (null while it is not in a worker process): what its handle carries to another process.</summary>
    internal Wire.ActorAddress? Address
    {
        get
        {
            if (_attached is { } a) return _dead ? null : a;
            var channel = _channel;
            return channel is null || _dead ? null
                : new Wire.ActorAddress(_actor.Id, channel.Lease.WorkerSocket, channel.Lease.WorkerId, channel.Lease.Pid, _session.Job.JobId, _actor.Options.MaxConcurrency)
                {
                    Detached = _actor.Options.Lifetime == ActorLifetime.Detached,
                };
        }
    }

    private static byte[] EncodeCreate(ConstructorInfo ctor, object?[] args, int maxConcurrency, RuntimeEnvs.PreparedRuntimeEnv? env)
    {
        var type = ctor.DeclaringType!;
        var values = new byte[args.Length][];
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] is null) continue;
            var t = args[i]!.GetType();
            try { values[i] = MemoryPack.MemoryPackSerializer.Serialize(t, args[i]); }
            catch (Exception e) when (e is not RayException)
            {
                throw ExceptionFactory.CannotSerialize(t, $"constructor argument {i + 1} of actor {type.Name}", e);
            }
        }
        return PayloadWriter.Build((ctor, args, values, maxConcurrency, env), static (w, s) =>
        {
            w.Utf8(s.ctor.Module.Assembly.Location);
            w.Utf8(s.ctor.DeclaringType!.AssemblyQualifiedName!);
            w.I32(s.ctor.MetadataToken);
            w.U16((ushort)s.args.Length);
            for (var i = 0; i < s.args.Length; i++)
            {
                if (s.args[i] is null)
                {
                    w.Utf8("");
                    ValueWire.WriteNull(w);
                    continue;
                }
                w.Utf8(s.args[i]!.GetType().AssemblyQualifiedName!);
                ValueWire.WriteInline(w, s.values[i]);
            }
            w.I32(s.maxConcurrency);
            if (s.env is { } e) w.U32(e.WireIndex); // defined on the connection before the create (WorkerChannel.CreateActorAsync)
        });
    }

    /// <summary>Leases a worker and creates the actor there (on the actor's thread); throws with the constructor's error.</summary>
    // Actor creation waits for the actor to exist (justified): the lease and the create reply are
    // completed by the raylet link's and the worker socket's own receive threads.
    public void Start(CancellationToken killed) => ConnectAsync(null, killed).GetAwaiter().GetResult();

    /// <summary>Calls are pipelined to the worker; it applies MaxConcurrency there.</summary>
    public bool HasRoom => true;

    /// <summary>No call is waiting for its reply from the actor's worker.</summary>
    public bool IsIdle { get { lock (_lock) return _channel is not { InFlight: > 0 } && _restarting is not { IsCompleted: false }; } }

    /// <summary>A caller whose call can go at once sends it on its own thread.</summary>
    public bool TakesCallsFromCallers => true;

    /// <summary>Sends a queued call once its arguments are ready (on the actor's thread, or its caller's).</summary>
    public void Dispatch(SubmittedActorCall call)
    {
        if (call.TryStartElsewhere()) Send(call);
    }

    /// <summary>Calls in flight fail when the worker's connection closes (see <see cref="Kill"/>).</summary>
    public void FailRunning(Exception death) { }

    /// <summary>Nothing held here: the lease went back with <see cref="Kill"/>.</summary>
    public void Stop() { }

    private async Task ConnectAsync(List<SubmittedActorCall>? resend, CancellationToken cancel = default)
    {
        if (_attached is { } address)
        {
            await AttachAsync(address).ConfigureAwait(false);
            return;
        }
        var request = ClusterWorkerPool.ToWire(_actor.Request, _actor.Core.Scheduler.Registry);
        LeaseGrant grant;
        var detached = _actor.Options.Lifetime == ActorLifetime.Detached;
        try { grant = await _session.RequestLeaseAsync(detached ? LeasePurpose.DetachedActor : LeasePurpose.Actor, request, ClusterSession.ToWire(_actor.Placement), cancel).ConfigureAwait(false); }
        catch (RayClusterException e) when (e.WireCode == ClusterErrorCode.PlacementGroupRemoved && _actor.Placement is { } p)
        {
            throw p.Group.RemovedError(); // the actor dies with its group (never restarts into it)
        }
        WorkerChannel channel;
        try
        {
            channel = await WorkerChannel.ConnectAsync(grant, _session.Token, _session.Job.JobId,
                WorkerSide.WorkerHost.SpinFromEnvironment(), OnChannelClosed,
                new LeaseContext(_actor.Core.Namespace, request, ClusterSession.ToWire(_actor.Placement), _actor.Placement?.Capture ?? false,
                    (_actor.Id.Owner, _actor.Id.Sequence)) { Detached = detached }).ConfigureAwait(false);
            channel.SendEachAtOnce = _actor.Options.MaxConcurrency > 1; // its calls run side by side: none may wait in our buffer
            channel.Session = _session;
            lock (_lock) _connecting = channel;
        }
        catch
        {
            _session.ReturnLease(grant.LeaseId, workerBroken: true);
            throw;
        }
        string? error;
        try { error = await channel.CreateActorAsync(_create!, _env).ConfigureAwait(false); }
        catch
        {
            channel.Dispose();
            _session.ReturnLease(grant.LeaseId, workerBroken: true);
            throw;
        }
        if (error is not null)
        {
            channel.Dispose();
            _session.ReturnLease(grant.LeaseId, workerBroken: true);
            throw new InvalidOperationException(error);
        }
        if (resend is not null)
        {
            // Calls that were in flight go first, before the channel is visible to new calls.
            foreach (var c in resend)
                if (!channel.Push(c, (ushort)ClusterMessageKind.ActorCall)) c.FailLost(ExceptionFactory.ActorCallLost(_actor.Id, _actor.ActorType.Name, "the restarted worker closed at once"));
        }
        bool killed;
        (WorkerChannel Channel, string Reason, SubmittedTask[] Lost)? closedEarly;
        lock (_lock)
        {
            killed = _dead;
            _connecting = null;
            closedEarly = _closedWhileConnecting is { } c && c.Channel == channel ? c : null; // not a failed earlier attempt's
            _closedWhileConnecting = null;
            if (!killed) _channel = channel;
            Monitor.PulseAll(_lock);
        }
        if (!killed) _actor.Core.PublishActorAddress(_actor); // a named actor: lookups anywhere find it now
        if (killed) // killed while starting: the new worker goes with it
        {
            _session.ReturnLease(grant.LeaseId, workerBroken: true);
            channel.Dispose();
            if (closedEarly is { } gone)
                foreach (var t in gone.Lost) t.FailLost(_actor.DeathOrShutdown);
            return;
        }
        // The new worker died before its channel was published (its resent calls may be in
        // flight on it): handle that close now, as if it came after.
        if (closedEarly is { } closed) OnChannelClosed(channel, closed.Reason, closed.Lost);
    }

    // A borrowed handle: connect to the actor's worker as the owner's job (the worker serves that
    // job only); the actor is already there.
    private async Task AttachAsync(Wire.ActorAddress address)
    {
        var grant = new LeaseGrant(0, address.WorkerId, address.Pid, address.WorkerSocket);
        WorkerChannel channel;
        try
        {
            channel = await WorkerChannel.ConnectAsync(grant, _session.Token, address.JobId,
                WorkerSide.WorkerHost.SpinFromEnvironment(), OnChannelClosed).ConfigureAwait(false);
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or RayClusterException or IOException)
        {
            throw new InvalidOperationException($"cannot reach actor {_actor.ActorType.Name} ({_actor.Id}) at {address.WorkerSocket}: it died, or its owner went away ({e.Message})", e);
        }
        channel.SendEachAtOnce = address.MaxConcurrency > 1;
        lock (_lock)
        {
            if (!_dead) _channel = channel;
            Monitor.PulseAll(_lock);
        }
        if (_dead) channel.Dispose();
        else if (channel.IsClosed) OnChannelClosed(channel, channel.CloseReason ?? "closed", []); // closed before it was published
    }

    /// <summary>True while the actor is being created again on a new worker.</summary>
    public bool IsRestarting
    {
        get => _restarting is { IsCompleted: false };
    }

    /// <summary>Sends a running call to the actor (waits while the actor is being restarted).</summary>
    private void Send(SubmittedActorCall call)
    {
        while (true)
        {
            Task? restarting;
            WorkerChannel? channel;
            lock (_lock)
            {
                restarting = _restarting;
                channel = _channel;
            }
            if (_dead) { call.FailLost(_actor.DeathOrShutdown); return; }
            if (restarting is { IsCompleted: false })
            {
                if (_actor.Options.MaxTaskRetries == 0)
                {
                    // At-most-once calls (Ray's default) fail at once while the actor restarts, as Ray's do.
                    call.FailLost(ExceptionFactory.ActorRestarting(_actor.Id, _actor.ActorType.Name));
                    return;
                }
                try { restarting.Wait(); } catch (AggregateException) { /* the restart failed: the actor is dead, seen above */ }
                continue;
            }
            if (channel is not null && channel.Push(call, (ushort)ClusterMessageKind.ActorCall)) return;
            // The channel just closed: its close handler is about to drop it and start a
            // restart (or kill the actor). Wait for that change, not a fixed time (the timeout
            // only guards against a change that would signal nobody).
            lock (_lock)
            {
                while (!_dead && ReferenceEquals(_channel, channel) && ReferenceEquals(_restarting, restarting))
                    Monitor.Wait(_lock, 100);
            }
        }
    }

    private void OnChannelClosed(WorkerChannel channel, string reason, SubmittedTask[] lost)
    {
        bool dropped;
        lock (_lock)
        {
            dropped = _channel != channel;
            if (dropped && _connecting == channel)
            {
                // Not published yet: ConnectAsync handles the close once it publishes the channel.
                _closedWhileConnecting = (channel, reason, lost);
                return;
            }
            if (!dropped)
            {
                _channel = null;
                Monitor.PulseAll(_lock);
            }
        }
        if (dropped)
        {
            // A channel we already dropped. Calls still on it were resent to it before a kill
            // dropped it (a restart that was killed): they fail with the actor.
            if (_dead)
                foreach (var t in lost) t.FailLost(_actor.DeathOrShutdown);
            return;
        }
        if (_attached is not null)
        {
            // A borrowed handle does not restart the actor: its owner does, elsewhere.
            var cause = ExceptionFactory.ActorWorkerDied(_actor.Id, _actor.ActorType.Name, reason + " (a handle passed to another process does not follow restarts)", 0);
            if (!_dead && !_actor.IsDead) _actor.Kill(cause);
            foreach (var t in lost) t.FailLost(_actor.DeathCause ?? cause);
            return;
        }
        _session.ReturnLease(channel.Lease.LeaseId, workerBroken: true);
        if (_dead || _actor.IsDead)
        {
            foreach (var t in lost) t.FailLost(_actor.DeathOrShutdown);
            return;
        }
        var max = _actor.Options.MaxRestarts;
        if (max >= 0 && _restarts >= max)
        {
            _actor.Kill(ExceptionFactory.ActorWorkerDied(_actor.Id, _actor.ActorType.Name, reason, _restarts));
            foreach (var t in lost) t.FailLost(_actor.DeathCause!);
            return;
        }
        _restarts++;
        var resend = new List<SubmittedActorCall>();
        foreach (var t in lost)
        {
            var call = (SubmittedActorCall)t;
            if (call.TryCountResend(_actor.Options.MaxTaskRetries)) resend.Add(call);
            else call.FailLost(ExceptionFactory.ActorCallLost(_actor.Id, _actor.ActorType.Name, reason));
        }
        lock (_lock)
        {
            _restarting = RestartAsync(resend, reason);
            Monitor.PulseAll(_lock);
        }
    }

    private async Task RestartAsync(List<SubmittedActorCall> resend, string reason)
    {
        await Task.Yield(); // never inline on the closing thread: _restarting is set by our caller first
        try
        {
            await ConnectAsync(resend).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            var cause = ExceptionFactory.ActorWorkerDied(_actor.Id, _actor.ActorType.Name, $"{reason}; restarting failed: {e.Message}", _restarts);
            _actor.Kill(cause);
            foreach (var c in resend) c.FailLost(cause);
        }
    }

    /// <summary>
    /// Kills the actor's worker process (Ray's kill with no_restart=False): its connection
    /// closing then restarts the actor, as a crash would, if it has restarts left. Nothing
    /// happens while it is not running in a worker (starting, restarting or dead).
    /// </summary>
    internal void KillWorker()
    {
        WorkerChannel? channel;
        lock (_lock) channel = _dead ? null : _channel;
        if (channel is null) return;
        _session.ReturnLease(channel.Lease.LeaseId, workerBroken: true); // the raylet kills it; the close restarts the actor
    }

    /// <summary>
    /// Set before the kill of a detached actor at its driver's shutdown: the driver lets go of it
    /// (its worker, lease and name stay) instead of ending it.
    /// </summary>
    internal bool LetGo { get; set; }

    /// <summary>The actor was killed: its process goes with its state (a detached actor let go of: it stays).</summary>
    public void Kill()
    {
        _dead = true;
        WorkerChannel? channel;
        lock (_lock)
        {
            channel = _channel;
            _channel = null;
            Monitor.PulseAll(_lock);
        }
        if (channel is null) return;
        if (_attached is null && !LetGo) _session.ReturnLease(channel.Lease.LeaseId, workerBroken: true); // a borrowed handle only lets go of the actor
        else if (_attached is { Detached: true } && !LetGo && !_session.Link.IsClosed) // a detached actor: any handle may end it
            _session.Link.Send((ushort)ClusterMessageKind.KillActorWorker, ClusterCodec.EncodeWorkerId(_attached.WorkerId));
        channel.Dispose(); // fails the calls in flight through OnChannelClosed... which sees _dead
    }
}
