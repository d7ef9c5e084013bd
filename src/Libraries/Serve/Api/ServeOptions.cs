namespace Ray.Serve;

/// <summary>Options for starting Serve (Ray Serve's <c>serve.start(...)</c>).</summary>
public sealed record ServeOptions
{
    /// <summary>The HTTP proxy's settings.</summary>
    public HttpOptions Http { get; init; } = new();

    /// <summary>How often the controller reconciles replicas with their targets (Ray's 0.1 s).</summary>
    public TimeSpan ControlLoopInterval { get; init; } = TimeSpan.FromMilliseconds(100);
}
