namespace Ray.Raylet.Workers;

/// <summary>Everything a worker process is started with (see <see cref="WorkerProcessLauncher.Arguments"/>).</summary>
internal sealed record WorkerLaunchRequest
{
    /// <summary>The raylet's TCP address (host:port) the worker registers at.</summary>
    internal required string RayletAddress { get; init; }

    /// <summary>The cluster token; passed in the environment (RAY_CLUSTER_TOKEN), never on the command line.</summary>
    internal required string Token { get; init; }

    /// <summary>The job the worker serves.</summary>
    internal required uint JobId { get; init; }

    /// <summary>The raylet's id for the worker.</summary>
    internal required uint WorkerId { get; init; }

    /// <summary>The session directory.</summary>
    internal required string SessionDir { get; init; }

    /// <summary>The node's object store socket.</summary>
    internal string? PlasmaSocket { get; init; }

    /// <summary>Where the job's assemblies are (the driver's code search path).</summary>
    internal IReadOnlyList<string> CodePaths { get; init; } = [];

    /// <summary>The file the worker's stdout and stderr are appended to.</summary>
    internal required string LogFile { get; init; }

    /// <summary>The owner id the raylet gave this worker (Ray.Contract.Ids.OwnerIds); 0: the worker picks one.</summary>
    internal ulong OwnerId { get; init; }
}
