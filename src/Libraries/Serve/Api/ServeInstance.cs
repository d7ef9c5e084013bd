using Ray.Serve.Controller;
using Ray.Serve.Http;

namespace Ray.Serve;

/// <summary>
/// A running Serve: the controller and the HTTP proxy, in this driver, over a Ray runtime
/// (embedded: replicas are actors in this process; connected: in the cluster's worker
/// processes). Start it with <see cref="Serve.Start"/>; dispose it to drain and stop every
/// application.
/// </summary>
public sealed class ServeInstance : IAsyncDisposable, IDisposable
{
    private readonly ServeController _controller;
    private readonly HttpProxy? _proxy;
    private ServeApi? _api;
    private int _disposed;

    private ServeInstance(RayRuntime ray, ServeOptions options, ServeController controller, HttpProxy? proxy)
    {
        Runtime = ray;
        Options = options;
        _controller = controller;
        _proxy = proxy;
    }

    internal static async Task<ServeInstance> StartAsync(RayRuntime ray, ServeOptions options)
    {
        ServeThreads.EnsureMinimum();
        var controller = new ServeController(ray, options.ControlLoopInterval);
        HttpProxy? proxy = null;
        ServeInstance? instance = null;
        try
        {
            if (options.Http.Enabled) proxy = await HttpProxy.StartAsync(controller, options.Http).ConfigureAwait(false);
            instance = new ServeInstance(ray, options, controller, proxy);
            if (options.ApiPort is { } apiPort)
            {
                var token = options.ApiToken ?? Environment.GetEnvironmentVariable("RAY_CLUSTER_TOKEN");
                if (string.IsNullOrEmpty(token)) throw new ArgumentException("the REST API (ServeOptions.ApiPort) needs a token: ServeOptions.ApiToken or RAY_CLUSTER_TOKEN", nameof(options));
                instance._api = await ServeApi.StartAsync(instance, options.Http.Host, apiPort, token).ConfigureAwait(false);
            }
            return instance;
        }
        catch
        {
            if (instance is not null) await instance.DisposeAsync().ConfigureAwait(false);
            else
            {
                if (proxy is not null) await proxy.DisposeAsync().ConfigureAwait(false);
                await controller.DisposeAsync().ConfigureAwait(false);
            }
            throw;
        }
    }

    /// <summary>The runtime the replicas run on.</summary>
    public RayRuntime Runtime { get; }

    /// <summary>The options Serve was started with.</summary>
    public ServeOptions Options { get; }

    /// <summary>The HTTP proxy's address, e.g. http://127.0.0.1:8000/ (the real port when started with port 0).</summary>
    /// <exception cref="InvalidOperationException">The proxy is disabled.</exception>
    public Uri HttpAddress => _proxy?.Address ?? throw new InvalidOperationException("the HTTP proxy is disabled (HttpOptions.Enabled = false)");

    /// <summary>The REST API's address (with its real port).</summary>
    /// <exception cref="InvalidOperationException">No REST API (ServeOptions.ApiPort unset).</exception>
    public Uri ApiAddress => _api?.Address ?? throw new InvalidOperationException("the REST API is off (ServeOptions.ApiPort)");

    /// <summary>
    /// Deploys <paramref name="app"/> as application <paramref name="name"/> under
    /// <paramref name="routePrefix"/> and waits until its replicas run (Ray's <c>serve.run</c>).
    /// Running it again with the same name updates it: replica counts and UserConfig in place,
    /// other changes by a rolling update. Returns a handle to the ingress deployment.
    /// </summary>
    /// <exception cref="ArgumentException">The prefix is taken by another application, or it does not start with '/'.</exception>
    /// <exception cref="InvalidOperationException">A deployment failed to start (its replicas' constructors failed), or it was not running within <paramref name="timeout"/> (default 60 s).</exception>
    public DeploymentHandle<T> Run<T>(Application<T> app, string name = "default", string routePrefix = "/", TimeSpan? timeout = null) where T : class =>
        RunAsync(app, name, routePrefix, timeout).GetAwaiter().GetResult();

    /// <summary>The async form of <see cref="Run{T}"/>.</summary>
    public async Task<DeploymentHandle<T>> RunAsync<T>(Application<T> app, string name = "default", string routePrefix = "/", TimeSpan? timeout = null, CancellationToken cancellationToken = default) where T : class
    {
        var key = Deploy(app, name, routePrefix);
        await WaitRunningAsync(name, timeout ?? TimeSpan.FromSeconds(60), cancellationToken).ConfigureAwait(false);
        return new DeploymentHandle<T>(key);
    }

    /// <summary>Starts deploying (or updating) without waiting; returns the ingress deployment's key.</summary>
    internal string Deploy(Application app, string name, string routePrefix)
    {
        ArgumentNullException.ThrowIfNull(app);
        ArgumentException.ThrowIfNullOrEmpty(name);
        ThrowIfDisposed();
        return _controller.Deploy(app, name, NormalizePrefix(routePrefix));
    }

    private async Task WaitRunningAsync(string name, TimeSpan limit, CancellationToken cancellationToken)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var status = _controller.Status().Applications.FirstOrDefault(a => a.Name == name);
            if (status?.Status == "RUNNING") return;
            if (status?.Status == "DEPLOY_FAILED")
                throw new InvalidOperationException($"application '{name}' failed to deploy: {string.Join("; ", status.Deployments.Where(d => d.Status == "DEPLOY_FAILED").Select(d => $"{d.Name}: {d.Message}"))}");
            if (sw.Elapsed > limit)
                throw new InvalidOperationException($"application '{name}' was not running after {limit.TotalSeconds:0} s: {string.Join("; ", status?.Deployments.Select(d => $"{d.Name} {d.Status} {d.Replicas.Count(r => r.State == "RUNNING")}/{d.TargetReplicas} {d.Message}") ?? [])}");
            await Task.Delay(10, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Applies a declarative config (Ray's <c>serve deploy</c>; the REST API's PUT): its
    /// applications are deployed or updated, applications not in it are deleted. Does not wait
    /// for replicas; see <see cref="Status"/>.
    /// </summary>
    /// <param name="config">The config.</param>
    /// <param name="baseDirectory">Where relative import paths start (default: the working directory).</param>
    /// <exception cref="FormatException">An import path or override does not resolve; nothing was changed.</exception>
    public void Deploy(ServeConfig config, string? baseDirectory = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        var built = config.Applications.Select(a => (a, App: ConfigLoader.Build(a, baseDirectory ?? Environment.CurrentDirectory))).ToList();
        foreach (var (a, app) in built) Deploy(app, a.Name, a.RoutePrefix);
        foreach (var gone in Status().Applications.Select(x => x.Name).Except(config.Applications.Select(a => a.Name)).ToList()) _controller.Delete(gone);
    }

    /// <summary>Deletes every application (their replicas drain); Serve keeps running.</summary>
    public void DeleteAll()
    {
        foreach (var a in Status().Applications) _controller.Delete(a.Name);
    }

    /// <summary>A handle to deployment <paramref name="deployment"/> of application <paramref name="app"/> (Ray's <c>serve.get_deployment_handle</c>).</summary>
    public DeploymentHandle<T> GetDeploymentHandle<T>(string deployment, string app = "default") where T : class =>
        new(_controller.KeyOf(app, deployment));

    /// <summary>Deletes application <paramref name="name"/>: its route goes at once; its replicas drain and stop. Waits for them (up to 60 s).</summary>
    /// <returns>False if there was no such application.</returns>
    public async Task<bool> DeleteAsync(string name)
    {
        if (!_controller.Delete(name)) return false;
        var sw = System.Diagnostics.Stopwatch.StartNew();
        while (!_controller.IsGone(name) && sw.Elapsed < TimeSpan.FromSeconds(60)) await Task.Delay(20).ConfigureAwait(false);
        return true;
    }

    /// <summary>Every application, deployment and replica now (Ray's <c>serve.status()</c>).</summary>
    public ServeStatus Status() => _controller.Status();

    internal ServeController Controller => _controller;

    private static string NormalizePrefix(string prefix)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        if (!prefix.StartsWith('/')) throw new ArgumentException($"route prefix '{prefix}' must start with '/'", nameof(prefix));
        return prefix.Length > 1 ? prefix.TrimEnd('/') : prefix;
    }

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);

    /// <summary>Stops the proxy, then deletes every application, draining replicas (Ray's <c>serve.shutdown()</c>).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        Serve.Forget(this);
        if (_api is not null) await _api.DisposeAsync().ConfigureAwait(false);
        if (_proxy is not null) await _proxy.DisposeAsync().ConfigureAwait(false);
        await _controller.ShutdownAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();
}
