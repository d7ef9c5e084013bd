namespace Ray.Cluster.WorkerSide;

/// <summary>
/// How a raylet starts a worker process (`ray worker ...`, hidden): which raylet and job it
/// belongs to and where the job's code is. The cluster token travels in the environment
/// (<see cref="TokenVariable"/>), never on the command line, where `ps` would show it.
/// </summary>
internal sealed record WorkerLaunchOptions
{
    /// <summary>The environment variable carrying the cluster token to workers and drivers.</summary>
    internal const string TokenVariable = Ray.Contract.Session.SessionPaths.TokenVariable;

    /// <summary>The raylet's TCP address, host:port.</summary>
    internal required string RayletAddress { get; init; }

    /// <summary>The cluster token (from <see cref="TokenVariable"/>).</summary>
    internal required string Token { get; init; }

    /// <summary>The job this worker serves; only that job's driver may use it.</summary>
    internal required uint JobId { get; init; }

    /// <summary>The raylet's number for this worker.</summary>
    internal required uint WorkerId { get; init; }

    /// <summary>The session directory (the worker's socket goes under sockets/).</summary>
    internal required string SessionDir { get; init; }

    /// <summary>Directories (or assembly files) where the job's assemblies are found.</summary>
    internal IReadOnlyList<string> CodePaths { get; init; } = [];

    /// <summary>The node's object store socket, for large arguments and results.</summary>
    internal string? PlasmaSocket { get; init; }

    /// <summary>The owner id the raylet gave this worker (Ray.Contract.Ids.OwnerIds); 0: pick one.</summary>
    internal ulong OwnerId { get; init; }
}
