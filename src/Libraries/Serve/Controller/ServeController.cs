using Ray.Serve.Routing;

namespace Ray.Serve.Controller;

/// <summary>An application's HTTP route, as the proxy reads it.</summary>
internal sealed record AppRoute(string App, string Prefix, Router Router, string? HttpMethod, bool HttpSynchronous, Type? HttpStreamItem, string IngressName);

/// <summary>
/// Serve's controller. A component of the driver, not an actor: the HTTP proxy and the routers
/// it feeds live in the driver, so every request reads the controller's state in-process; Core's
/// actor names are per driver, so a controller actor could not be found by other processes
/// anyway; and replicas in worker processes get what they need (their dependencies' replicas)
/// pushed to them. The cost: Serve lives as long as the driver that started it.
/// Lifecycle:
/// 1. <see cref="Deploy"/> turns an application graph into deployments (new, updated, or deleted ones);
/// 2. a control loop ticks every ControlLoopInterval and reconciles each deployment (see <see cref="DeploymentState"/>);
/// 3. <see cref="DisposeAsync"/> deletes every application, drains their replicas and stops the loop.
/// </summary>
internal sealed class ServeController : IAsyncDisposable
{
    private readonly RayRuntime _ray;
    private readonly string _instance = Guid.NewGuid().ToString("N")[..8];
    private readonly object _lock = new();
    private readonly Dictionary<string, AppState> _apps = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DeploymentState> _deployments = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly TimeSpan _interval;
    private volatile AppRoute[] _routes = [];

    internal ServeController(RayRuntime ray, TimeSpan interval)
    {
        _ray = ray;
        _interval = interval;
        _loop = Task.Run(LoopAsync);
    }

    /// <summary>HTTP routes, longest prefix first.</summary>
    internal AppRoute[] Routes => _routes;

    internal sealed class AppState(string name, string prefix, string ingressKey, string[] keys)
    {
        internal string Name { get; } = name;
        internal string Prefix { get; set; } = prefix;
        internal string IngressKey { get; set; } = ingressKey;
        internal string[] Keys { get; set; } = keys;
        internal bool Deleting { get; set; }
    }

    internal string KeyOf(string app, string deployment) => $"{_instance}:{app}:{deployment}";

    /// <summary>Deploys or updates application <paramref name="name"/>; returns its ingress deployment's key.</summary>
    internal string Deploy(Application root, string name, string prefix)
    {
        // The graph: every Application reachable through constructor arguments, one deployment per name.
        var nodes = new Dictionary<string, Application>(StringComparer.Ordinal);
        void Walk(Application a)
        {
            if (nodes.TryGetValue(a.Name, out var seen))
            {
                if (!ReferenceEquals(seen, a) && seen.DeploymentType != a.DeploymentType)
                    throw new ArgumentException($"application '{name}' has two deployments named '{a.Name}' ({seen.DeploymentType.Name} and {a.DeploymentType.Name}): give one another Name");
                return;
            }
            nodes[a.Name] = a;
            foreach (var arg in a.Arguments) if (arg is Application child) Walk(child);
        }
        Walk(root);
        var defs = nodes.Values.Select(a => new DeploymentDef(KeyOf(name, a.Name), name, a, x => KeyOf(name, x.Name))).ToList();
        var ingressKey = KeyOf(name, root.Name);
        lock (_lock)
        {
            foreach (var other in _apps.Values)
                if (other.Name != name && !other.Deleting && other.Prefix == prefix)
                    throw new ArgumentException($"route prefix '{prefix}' is already used by application '{other.Name}'");
            var keys = defs.Select(d => d.Key).ToArray();
            if (_apps.TryGetValue(name, out var app) && !app.Deleting)
            {
                foreach (var gone in app.Keys.Except(keys)) if (_deployments.TryGetValue(gone, out var g)) g.Delete();
                app.Prefix = prefix;
                app.IngressKey = ingressKey;
                app.Keys = keys;
            }
            else _apps[name] = new AppState(name, prefix, ingressKey, keys);
            foreach (var d in defs)
            {
                if (_deployments.TryGetValue(d.Key, out var existing) && !existing.Deleting) existing.Update(d);
                else _deployments[d.Key] = new DeploymentState(_ray, d);
            }
            RebuildRoutes();
            TickLocked();
        }
        return ingressKey;
    }

    /// <summary>Deletes an application: its routes go at once, its replicas drain.</summary>
    internal bool Delete(string name)
    {
        lock (_lock)
        {
            if (!_apps.TryGetValue(name, out var app) || app.Deleting) return false;
            app.Deleting = true;
            foreach (var k in app.Keys) if (_deployments.TryGetValue(k, out var d)) d.Delete();
            RebuildRoutes();
            return true;
        }
    }

    internal bool IsGone(string name)
    {
        lock (_lock) return !_apps.ContainsKey(name);
    }

    /// <summary>Every application and deployment now (a snapshot under the lock).</summary>
    internal ServeStatus Status()
    {
        lock (_lock)
        {
            return new ServeStatus(_apps.Values.Select(a =>
            {
                var ds = a.Keys.Where(_deployments.ContainsKey).Select(k => _deployments[k]).Select(d => new DeploymentStatus(
                    d.Def.Name, d.Status, d.Message, d.Target,
                    d.Replicas.Select(r => new ReplicaStatus(r.Id, r.Phase.ToString().ToUpperInvariant(), r.Version, r.Pid, r.Handle.Id.ToString())).ToList())).ToList();
                var status = a.Deleting ? "DELETING"
                    : ds.Any(d => d.Status == "DEPLOY_FAILED") ? "DEPLOY_FAILED"
                    : ds.All(d => d.Status == "HEALTHY") ? "RUNNING"
                    : ds.Any(d => d.Status == "UNHEALTHY") ? "UNHEALTHY" : "DEPLOYING";
                return new ApplicationStatus(a.Name, a.Prefix, status, ds);
            }).ToList());
        }
    }

    /// <summary>The driver-side router of a deployment (for tests and the proxy).</summary>
    internal DeploymentState? Find(string key)
    {
        lock (_lock) return _deployments.GetValueOrDefault(key);
    }

    private void RebuildRoutes()
    {
        _routes = _apps.Values.Where(a => !a.Deleting && _deployments.ContainsKey(a.IngressKey))
            .Select(a => { var d = _deployments[a.IngressKey]; return new AppRoute(a.Name, a.Prefix, d.Router, d.Def.HttpMethod,
                d.Def.HttpMethod is { } m && Replica.MethodInvoker.For(d.Def.UserType, m, 1).IsSynchronous,
                d.Def.HttpMethod is { } sm ? Replica.MethodInvoker.For(d.Def.UserType, sm, 1).StreamItemType : null, d.Def.Name); })
            .OrderByDescending(r => r.Prefix.Length).ToArray();
    }

    private async Task LoopAsync()
    {
        using var timer = new PeriodicTimer(_interval);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
            {
                try { lock (_lock) TickLocked(); }
                catch (Exception e) { Console.Error.WriteLine($"ray serve: the control loop failed a tick: {e}"); }
            }
        }
        catch (OperationCanceledException) { }
    }

    private void TickLocked()
    {
        if (_ray.IsShutdown) return;
        var now = DateTime.UtcNow;
        foreach (var d in _deployments.Values.ToList())
        {
            d.Reconcile(now, _deployments);
            if (d.Gone) _deployments.Remove(d.Def.Key);
        }
        foreach (var a in _apps.Values.Where(a => a.Deleting && !a.Keys.Any(_deployments.ContainsKey)).ToList()) _apps.Remove(a.Name);
    }

    /// <summary>Deletes every application and waits (up to <paramref name="timeout"/>) for their replicas to drain and end.</summary>
    internal async Task ShutdownAsync(TimeSpan timeout)
    {
        lock (_lock) foreach (var a in _apps.Keys.ToList()) Delete(a);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        while (sw.Elapsed < timeout)
        {
            lock (_lock) if (_apps.Count == 0) break;
            await Task.Delay(_interval).ConfigureAwait(false);
        }
        _stop.Cancel();
        try { await _loop.ConfigureAwait(false); } catch (Exception) { }
        lock (_lock)
        {
            // What did not drain in time is killed.
            foreach (var d in _deployments.Values)
            {
                foreach (var r in d.Replicas) try { _ray.Kill(r.Handle); } catch (Exception) { }
                Routers.Remove(d.Def.Key, "Serve was shut down");
            }
            _deployments.Clear();
            _apps.Clear();
        }
    }

    public async ValueTask DisposeAsync() => await ShutdownAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
}
