using Ray.Serve.Replica;
using Ray.Serve.Routing;

namespace Ray.Serve.Controller;

/// <summary>
/// Keeps one deployment's replicas at their target (Ray's DeploymentState). Each control-loop
/// tick, under the controller's lock:
/// 1. starting replicas that answered Ready start running (connected: routes pushed first);
///    ones whose constructor failed are dropped and counted (3 in a row: DeployFailed);
/// 2. running replicas whose actor died are dropped (and replaced in step 5);
/// 3. health checks: one per period per replica; a failure or a timeout counts; at the threshold the replica is replaced;
/// 4. autoscaling: ongoing requests sampled every metrics interval; the policy may move the target;
/// 5. replicas started or stopped toward the target; replicas of an old version are replaced
///    one surge at a time, old ones stopped only once new ones run (a rolling update);
/// 6. the driver's router and, connected, the routes in dependents' replicas are updated.
/// </summary>
internal sealed class DeploymentState
{
    private readonly RayRuntime _ray;
    private readonly Router _router;
    private readonly List<ReplicaState> _replicas = new();
    private int _nextReplica;
    private int _startFailures;
    private DateTime _nextMetrics = DateTime.MinValue;
    private AutoscalingPolicy? _autoscaler;
    private bool _routesChanged = true;

    internal DeploymentState(RayRuntime ray, DeploymentDef def)
    {
        _ray = ray;
        Def = def;
        _router = Routers.GetOrCreate(def.Key);
        Target = def.Options.Autoscaling?.Initial ?? def.Options.NumReplicas;
        if (def.Options.Autoscaling is { } a) _autoscaler = new AutoscalingPolicy(a);
    }

    internal DeploymentDef Def { get; private set; }
    internal int Target { get; private set; }
    internal string Status { get; private set; } = "UPDATING";
    internal string Message { get; private set; } = "";
    internal Router Router => _router;
    internal IReadOnlyList<ReplicaState> Replicas => _replicas;
    internal bool Deleting { get; private set; }

    internal IEnumerable<ReplicaState> Running => _replicas.Where(r => r.Phase == ReplicaPhase.Running);

    /// <summary>A new definition for the same deployment: in place when only counts or UserConfig differ, else a rolling update.</summary>
    internal void Update(DeploymentDef def)
    {
        var old = Def;
        Def = def;
        _startFailures = 0;
        if (def.Options.Autoscaling is { } a)
        {
            if (_autoscaler?.Config != a) { _autoscaler = new AutoscalingPolicy(a); Target = Math.Clamp(Target, a.MinReplicas, a.MaxReplicas); }
        }
        else
        {
            _autoscaler = null;
            Target = def.Options.NumReplicas;
        }
        if (def.Version == old.Version && !def.SameUserConfig(old) && def.UserConfig is not null)
        {
            foreach (var r in _replicas.Where(r => r.Phase != ReplicaPhase.Stopping && r.Version == def.Version))
                r.Handle.Task((ReplicaActor x, string t, byte[] c) => x.Reconfigure(t, c)).Remote(def.UserConfigType!, def.UserConfig);
        }
        _routesChanged = true;
        Status = "UPDATING";
    }

    /// <summary>Stops every replica (draining) and closes the router.</summary>
    internal void Delete()
    {
        Deleting = true;
        Target = 0;
        _autoscaler = null;
    }

    /// <summary>True once a deleted deployment has no replica left.</summary>
    internal bool Gone => Deleting && _replicas.Count == 0;

    internal void Reconcile(DateTime now, IReadOnlyDictionary<string, DeploymentState> byKey)
    {
        CheckStarting();
        CheckDead();
        CheckHealth(now);
        Autoscale(now);
        Scale();
        _replicas.RemoveAll(r => r.Phase == ReplicaPhase.Stopping && r.Stopped is { IsCompleted: true });
        if (_routesChanged)
        {
            _routesChanged = false;
            _router.Update(Def.Route, Running.Select(r => (r.Id, r.Handle)).ToList());
        }
        if (_ray.IsConnected) PushRoutes(byKey);
        UpdateStatus();
        if (Gone) Routers.Remove(Def.Key, "the deployment was deleted");
    }

    private void CheckStarting()
    {
        foreach (var r in _replicas.Where(r => r.Phase == ReplicaPhase.Starting && r.Ready.IsReady).ToList())
        {
            try
            {
                r.Pid = r.Ready.Get();
                r.Phase = ReplicaPhase.Running;
                r.NextHealthAt = DateTime.UtcNow + Def.Options.HealthCheckPeriod;
                _startFailures = 0;
                _routesChanged = true;
            }
            catch (Exception e)
            {
                _replicas.Remove(r);
                _startFailures++;
                Message = $"replica {r.Id} failed to start: {Describe(e)}";
            }
        }
    }

    private void CheckDead()
    {
        foreach (var r in _replicas.Where(r => r.Phase == ReplicaPhase.Running && !r.Handle.IsAlive).ToList())
        {
            _replicas.Remove(r);
            _routesChanged = true;
            Message = $"replica {r.Id} died; replacing it";
        }
    }

    private void CheckHealth(DateTime now)
    {
        var o = Def.Options;
        foreach (var r in Running.ToList())
        {
            if (r.Health is { } h)
            {
                bool? ok = null;
                if (h.IsReady)
                {
                    try { ok = h.Get(); }
                    catch (Exception e) { ok = false; Message = $"replica {r.Id} failed its health check: {Describe(e)}"; }
                }
                else if (now - r.HealthSentAt > o.HealthCheckTimeout)
                {
                    ok = false;
                    Message = $"replica {r.Id}'s health check did not answer within {o.HealthCheckTimeout.TotalSeconds:0.###} s";
                }
                if (ok is null) continue;
                r.Health = null;
                r.NextHealthAt = now + o.HealthCheckPeriod;
                if (ok.Value) r.HealthFailures = 0;
                else
                {
                    r.HealthFailures++;
                    ServeMetrics.HealthCheckFailed(Def.Name, r.Id);
                    if (r.HealthFailures >= o.HealthCheckFailureThreshold)
                    {
                        Message = $"replica {r.Id} failed {r.HealthFailures} health checks in a row; replacing it";
                        // Out of routing at once; requests already on it may still finish (as Ray stops
                        // an unhealthy replica gracefully).
                        Stop(r, drain: true);
                    }
                }
            }
            else if (now >= r.NextHealthAt)
            {
                r.HealthSentAt = now;
                r.Health = r.Handle.Task((ReplicaActor x) => x.CheckHealthAsync()).Remote();
            }
        }
    }

    private void Autoscale(DateTime now)
    {
        if (_autoscaler is null || Deleting) return;
        var running = Running.ToList();
        // Collect the stats asked for last time; ask again each metrics interval.
        foreach (var r in running)
            if (r.StatsRef is { IsReady: true } s)
            {
                try { r.LastStats = s.Get(); } catch (Exception) { }
                r.StatsRef = null;
            }
        if (now < _nextMetrics) return;
        _nextMetrics = now + _autoscaler.Config.MetricsInterval;
        var total = running.Sum(r => r.LastStats?.Ongoing ?? 0) + _router.Queued;
        _autoscaler.Record(now, total);
        foreach (var r in running) r.StatsRef ??= r.Handle.Task((ReplicaActor x) => x.Stats()).Remote();
        var target = _autoscaler.Decide(now, Target);
        if (target != Target)
        {
            Message = $"autoscaling from {Target} to {target} replicas ({total} requests ongoing or queued)";
            Target = target;
        }
    }

    private void Scale()
    {
        if (Status == "DEPLOY_FAILED" && _startFailures >= 3) return;
        var version = Def.Version;
        var live = _replicas.Where(r => r.Phase != ReplicaPhase.Stopping).ToList();
        var current = live.Where(r => r.Version == version).ToList();
        var old = live.Where(r => r.Version != version).ToList();
        if (old.Count == 0)
        {
            for (var i = current.Count; i < Target; i++) Start();
            // Too many: stop starting ones first, then the least loaded running ones.
            foreach (var r in current.OrderBy(r => r.Phase == ReplicaPhase.Running ? 1 : 0).ThenBy(r => r.LastStats?.Ongoing ?? 0).Take(Math.Max(0, current.Count - Target)))
                Stop(r, drain: true);
            return;
        }
        // Rolling update: a surge of new replicas (a fifth of the target, at least one); old ones
        // are stopped only as far as running new ones (plus running old ones) exceed the target.
        var surge = Math.Max(1, Target / 5);
        var starting = current.Count(r => r.Phase == ReplicaPhase.Starting);
        for (var i = 0; i < Math.Min(surge - starting, Target - current.Count); i++) Start();
        var runningNew = current.Count(r => r.Phase == ReplicaPhase.Running);
        var runningOld = old.Where(r => r.Phase == ReplicaPhase.Running).ToList();
        var excess = runningNew + runningOld.Count - Target;
        foreach (var r in old.Where(r => r.Phase == ReplicaPhase.Starting)) Stop(r, drain: false);
        foreach (var r in runningOld.OrderBy(r => r.LastStats?.Ongoing ?? 0).Take(Math.Max(0, excess))) Stop(r, drain: true);
        if (runningNew >= Target) foreach (var r in runningOld) if (r.Phase == ReplicaPhase.Running) Stop(r, drain: true);
    }

    private void Start()
    {
        var id = $"{Def.Name}#{Interlocked.Increment(ref _nextReplica)}";
        var init = Def.MakeInit(id);
        var a = Def.Options.ActorOptions;
        var options = new ActorOptions
        {
            NumCpus = a?.NumCpus ?? 0,
            NumGpus = a?.NumGpus ?? 0,
            MemoryBytes = a?.MemoryBytes ?? 0,
            Resources = a?.Resources,
            // Admission is counted by the replica itself; the actor's own limit only has to keep
            // refusals and health checks from waiting behind running requests.
            MaxConcurrency = Math.Max(256, Def.Options.MaxOngoingRequests * 4),
        };
        var handle = _ray.Actor<ReplicaActor>(options).Remote(() => new ReplicaActor(init));
        var ready = handle.Task((ReplicaActor r) => r.Ready()).Remote();
        _replicas.Add(new ReplicaState(id, handle, Def.Version, ready));
        ServeMetrics.ReplicaStarted(Def.Name);
    }

    private void Stop(ReplicaState r, bool drain)
    {
        if (r.Phase == ReplicaPhase.Stopping) return;
        var wasRunning = r.Phase == ReplicaPhase.Running;
        r.Phase = ReplicaPhase.Stopping;
        if (drain) _router.Retire(r.Id);
        _routesChanged |= wasRunning;
        var o = Def.Options;
        r.Stopped = drain && wasRunning ? DrainThenEndAsync(r, o.GracefulShutdownWaitLoop, o.GracefulShutdownTimeout) : KillAsync(r);
    }

    private Task KillAsync(ReplicaState r)
    {
        try { _ray.Kill(r.Handle); } catch (Exception) { }
        return Task.CompletedTask;
    }

    // Routing stopped first (this tick's router update); then the replica refuses new requests
    // and waits for its running ones; then it is terminated, killed if it does not end.
    private async Task DrainThenEndAsync(ReplicaState r, TimeSpan loop, TimeSpan timeout)
    {
        try
        {
            var drained = r.Handle.Task((ReplicaActor x, long l, long t) => x.DrainAsync(l, t)).Remote((long)loop.TotalMilliseconds, (long)timeout.TotalMilliseconds);
            await drained.GetAsync().WaitAsync(timeout + TimeSpan.FromSeconds(5)).ConfigureAwait(false);
            var ended = _ray.Terminate(r.Handle);
            await ended.GetAsync().WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        }
        catch (Exception) { }
        try { _ray.Kill(r.Handle); } catch (Exception) { }
    }

    // Connected mode: replicas of deployments holding handles to this one learn its members.
    private void PushRoutes(IReadOnlyDictionary<string, DeploymentState> byKey)
    {
        foreach (var depKey in Def.Dependencies)
        {
            if (!byKey.TryGetValue(depKey, out var dep)) continue;
            var members = dep.Running.ToList();
            var membersKey = string.Join(",", members.Select(m => m.Id));
            var info = dep.Def.Route;
            foreach (var r in _replicas.Where(r => r.Phase != ReplicaPhase.Stopping && r.Handle.IsAlive))
            {
                if (!r.Pushed.TryGetValue(depKey, out var pushed)) r.Pushed[depKey] = pushed = (new HashSet<string>(StringComparer.Ordinal), "");
                foreach (var m in members.Where(m => !pushed.Known.Contains(m.Id)))
                {
                    try
                    {
                        r.Handle.Task((ReplicaActor x, RouteInfo i, ActorHandle<ReplicaActor> h) => x.AddRoute(i, h)).Remote(info, m.Handle);
                        pushed.Known.Add(m.Id);
                    }
                    catch (NotSupportedException) { } // not in a worker process yet (starting): next tick
                }
                if (pushed.Members != membersKey)
                {
                    r.Handle.Task((ReplicaActor x, string k, string[] ids) => x.SetRouteMembers(k, ids)).Remote(depKey, members.Select(m => m.Handle.Id.ToString()).ToArray());
                    r.Pushed[depKey] = (pushed.Known, membersKey);
                }
            }
        }
    }

    private void UpdateStatus()
    {
        if (Deleting) { Status = "DELETING"; return; }
        if (_startFailures >= 3 && !Running.Any()) { Status = "DEPLOY_FAILED"; return; }
        var running = Running.Count(r => r.Version == Def.Version);
        var others = _replicas.Count(r => r.Version != Def.Version || r.Phase != ReplicaPhase.Running);
        if (running == Target && others == 0) { Status = "HEALTHY"; if (_autoscaler is null && !Message.StartsWith("replica", StringComparison.Ordinal)) Message = ""; }
        else if (Status != "HEALTHY" || running < Target) Status = running == 0 && Target > 0 && _startFailures > 0 ? "UNHEALTHY" : "UPDATING";
    }

    private static string Describe(Exception e) => e switch
    {
        ActorDiedException { InnerException: { } inner } => inner.Message,
        _ => e.Message,
    };
}
