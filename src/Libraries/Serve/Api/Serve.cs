namespace Ray.Serve;

/// <summary>
/// Ray Serve's entry points: define deployments, start Serve, run applications.
/// <code>
/// await using var ray = RayRuntime.Start();
/// await using var serve = await Serve.StartAsync(ray, new ServeOptions { Http = new HttpOptions { Port = 8000 } });
/// serve.Run(Serve.Deployment&lt;Echo&gt;(new DeploymentOptions { NumReplicas = 2 }).Bind(), "echo", "/echo");
/// </code>
/// The static <see cref="Run{T}"/> uses the instance started last, starting one (port 8000, on
/// <see cref="RayRuntime.Current"/>) when there is none.
/// </summary>
public static class Serve
{
    private static ServeInstance? s_default;
    private static readonly object s_lock = new();

    /// <summary>A deployment of class <typeparamref name="T"/> (Ray's <c>@serve.deployment</c>).</summary>
    public static Deployment<T> Deployment<T>(DeploymentOptions? options = null) where T : class => new(options ?? DeploymentOptions.Default);

    /// <summary>Starts Serve on <paramref name="ray"/> (default: <see cref="RayRuntime.Current"/>): the controller and the HTTP proxy.</summary>
    /// <exception cref="System.IO.IOException">The HTTP port is in use.</exception>
    public static async Task<ServeInstance> StartAsync(RayRuntime? ray = null, ServeOptions? options = null)
    {
        var instance = await ServeInstance.StartAsync(ray ?? RayRuntime.Current, options ?? new ServeOptions()).ConfigureAwait(false);
        lock (s_lock) s_default = instance;
        return instance;
    }

    /// <summary>The blocking form of <see cref="StartAsync"/>.</summary>
    public static ServeInstance Start(RayRuntime? ray = null, ServeOptions? options = null) => StartAsync(ray, options).GetAwaiter().GetResult();

    /// <summary>The instance started last and not disposed, or null.</summary>
    public static ServeInstance? Current
    {
        get { lock (s_lock) return s_default; }
    }

    /// <summary>Ray's <c>serve.run(app, name, route_prefix)</c> on <see cref="Current"/> (started with defaults when there is none).</summary>
    public static DeploymentHandle<T> Run<T>(Application<T> app, string name = "default", string routePrefix = "/") where T : class
    {
        var instance = Current ?? Start(); // not under the lock: Start takes it from another thread
        return instance.Run(app, name, routePrefix);
    }

    /// <summary>Ray's <c>serve.shutdown()</c>: disposes <see cref="Current"/>.</summary>
    public static void Shutdown()
    {
        ServeInstance? instance;
        lock (s_lock) instance = s_default;
        instance?.Dispose();
    }

    internal static void Forget(ServeInstance instance)
    {
        lock (s_lock) if (ReferenceEquals(s_default, instance)) s_default = null;
    }
}
