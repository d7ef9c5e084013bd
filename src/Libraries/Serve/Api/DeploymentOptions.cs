namespace Ray.Serve;

/// <summary>
/// How a deployment runs (Ray Serve's <c>@serve.deployment(...)</c> options). Defaults are Ray's.
/// </summary>
public sealed record DeploymentOptions
{
    /// <summary>The defaults.</summary>
    public static DeploymentOptions Default { get; } = new();

    /// <summary>The deployment's name; null: the class name.</summary>
    public string? Name { get; init; }

    /// <summary>Replicas to keep running (ignored when <see cref="Autoscaling"/> is set). Default 1.</summary>
    public int NumReplicas { get; init; } = 1;

    /// <summary>
    /// Requests one replica runs at once; past it the replica refuses and the router tries another
    /// (Ray's <c>max_ongoing_requests</c>, default 5).
    /// </summary>
    public int MaxOngoingRequests { get; init; } = 5;

    /// <summary>
    /// Requests a caller (the HTTP proxy, a handle) may hold waiting for a free replica; past it
    /// new requests fail at once with <see cref="BackPressureException"/> (HTTP 503). -1 (default): no limit.
    /// </summary>
    public int MaxQueuedRequests { get; init; } = -1;

    /// <summary>The resources each replica actor holds (NumCpus, NumGpus, MemoryBytes, Resources); other fields are Serve's.</summary>
    public ActorOptions? ActorOptions { get; init; }

    /// <summary>Scales the number of replicas with load; null (default): a fixed <see cref="NumReplicas"/>.</summary>
    public AutoscalingConfig? Autoscaling { get; init; }

    /// <summary>
    /// A value given to the class's <c>Reconfigure(T config)</c> method when a replica starts and
    /// whenever it changes, without restarting replicas (Ray's <c>user_config</c>). Must be MemoryPack-serializable.
    /// </summary>
    public object? UserConfig { get; init; }

    /// <summary>How often each replica's health is checked (Ray's default 10 s).</summary>
    public TimeSpan HealthCheckPeriod { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a health check may take before it counts as failed (Ray's default 30 s).</summary>
    public TimeSpan HealthCheckTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Consecutive failed health checks after which a replica is replaced (Ray: 3).</summary>
    public int HealthCheckFailureThreshold { get; init; } = 3;

    /// <summary>How often a stopping replica looks whether its requests are done (Ray's default 2 s).</summary>
    public TimeSpan GracefulShutdownWaitLoop { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>How long a stopping replica may drain its requests before it is killed (Ray's default 20 s).</summary>
    public TimeSpan GracefulShutdownTimeout { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>
    /// The code version; replicas of another version are replaced by a rolling update. Null: derived
    /// from the class, its constructor arguments and the options that need a restart.
    /// </summary>
    public string? Version { get; init; }

    internal void Validate(string deployment)
    {
        if (NumReplicas < 0) throw new ArgumentOutOfRangeException(nameof(NumReplicas), NumReplicas, $"deployment '{deployment}': NumReplicas must be 0 or more");
        if (MaxOngoingRequests < 1) throw new ArgumentOutOfRangeException(nameof(MaxOngoingRequests), MaxOngoingRequests, $"deployment '{deployment}': MaxOngoingRequests must be 1 or more");
        if (MaxQueuedRequests < -1) throw new ArgumentOutOfRangeException(nameof(MaxQueuedRequests), MaxQueuedRequests, $"deployment '{deployment}': MaxQueuedRequests must be -1 (no limit) or more");
        if (HealthCheckPeriod <= TimeSpan.Zero || HealthCheckTimeout <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(HealthCheckPeriod), $"deployment '{deployment}': health check period and timeout must be positive");
        if (HealthCheckFailureThreshold < 1) throw new ArgumentOutOfRangeException(nameof(HealthCheckFailureThreshold), $"deployment '{deployment}': HealthCheckFailureThreshold must be 1 or more");
        if (GracefulShutdownTimeout < TimeSpan.Zero || GracefulShutdownWaitLoop <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(GracefulShutdownTimeout), $"deployment '{deployment}': graceful shutdown times must be positive");
        Autoscaling?.Validate(deployment);
    }
}
