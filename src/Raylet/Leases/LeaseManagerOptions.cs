namespace Ray.Raylet.Leases;

/// <summary>Where the node is and how its worker pool behaves (what <see cref="LeaseManager"/> needs besides its seams).</summary>
internal sealed record LeaseManagerOptions
{
    /// <summary>The raylet's TCP address, host:port, that workers register at (loopback when it listens on any address).</summary>
    internal required string RayletAddress { get; init; }

    /// <summary>The cluster token, handed to workers in their environment.</summary>
    internal required string Token { get; init; }

    /// <summary>The node's id (hex), for JobAccepted.</summary>
    internal required string NodeId { get; init; }

    /// <summary>The session directory.</summary>
    internal required string SessionDir { get; init; }

    /// <summary>The folder of worker logs (<c>worker-J-W.out</c>).</summary>
    internal required string LogsDirectory { get; init; }

    /// <summary>The node's object store socket.</summary>
    internal string PlasmaSocket { get; init; } = "";

    /// <summary>Workers started for a job when it registers; default the node's CPU count (whole CPUs).</summary>
    internal int? PrestartWorkers { get; init; }

    /// <summary>
    /// The most worker processes starting or alive at once, not counting workers leased to
    /// actors (an actor's worker is its own); default max(CPUs, 1) * 4.
    /// </summary>
    internal int? MaxWorkers { get; init; }

    /// <summary>
    /// How long a worker may stay idle while its job has more workers than it keeps warm (its
    /// prestart count) before it is killed, oldest idle first (Ray's
    /// idle_worker_killing_time_threshold_ms). Zero or negative: never.
    /// </summary>
    internal TimeSpan IdleWorkerTimeout { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a started worker has to register before it is killed (a start failure).</summary>
    internal TimeSpan RegisterTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Consecutive failed worker starts of a job after which its waiting requests fail with WorkerStartFailed.</summary>
    internal int MaxStartFailures { get; init; } = 3;
}
