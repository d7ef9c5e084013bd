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
        try
        {
            if (options.Http.Enabled) proxy = await HttpProxy.StartAsync(controller, options.Http).ConfigureAwait(false);
        }
        catch
        {
            await controller.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return new ServeInstance(ray, options, controller, proxy);
    }

    /// <summary>The runtime the replicas run on.</summary>
    public RayRuntime Runtime { get; }

    /// <summary>The options Serve was started with.</summary>
    public ServeOptions Options { get; }

    /// <summary>The HTTP proxy's address, e.g. http://127.0.0.1:8000/ (the real port when started with port 0).</summary>
    /// <exception cref="InvalidOperationException">The proxy is disabled.</exception>
    public Uri HttpAddress => _proxy?.Address ?? throw new InvalidOperationException("the HTTP proxy is disabled (HttpOptions.Enabled = false)");

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
        ArgumentNullException.ThrowIfNull(app);
        ArgumentException.ThrowIfNullOrEmpty(name);
        ThrowIfDisposed();
        routePrefix = NormalizePrefix(routePrefix);
        var key = _controller.Deploy(app, name, routePrefix);
        var limit = timeout ?? TimeSpan.FromSeconds(60);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var status = _controller.Status().Applications.FirstOrDefault(a => a.Name == name);
            if (status?.Status == "RUNNING") break;
            if (status?.Status == "DEPLOY_FAILED")
                throw new InvalidOperationException($"application '{name}' failed to deploy: {string.Join("; ", status.Deployments.Where(d => d.Status == "DEPLOY_FAILED").Select(d => $"{d.Name}: {d.Message}"))}");
            if (sw.Elapsed > limit)
                throw new InvalidOperationException($"application '{name}' was not running after {limit.TotalSeconds:0} s: {string.Join("; ", status?.Deployments.Select(d => $"{d.Name} {d.Status} {d.Replicas.Count(r => r.State == "RUNNING")}/{d.TargetReplicas} {d.Message}") ?? [])}");
            await Task.Delay(10, cancellationToken).ConfigureAwait(false);
        }
        return new DeploymentHandle<T>(key);
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
        if (_proxy is not null) await _proxy.DisposeAsync().ConfigureAwait(false);
        await _controller.ShutdownAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();
}
