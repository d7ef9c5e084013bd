namespace Ray.Hosting;

/// <summary>
/// What a worker process started by a raylet needs to know (the parsed arguments of
/// <c>ray worker</c>): its raylet, job, worker id, session and the job's code.
/// </summary>
public sealed record WorkerProcessOptions
{
    /// <summary>The raylet's TCP address, host:port.</summary>
    public required string RayletAddress { get; init; }

    /// <summary>The cluster token (the raylet passes it in the environment, never on the command line).</summary>
    public required string Token { get; init; }

    /// <summary>The job this worker serves.</summary>
    public required uint JobId { get; init; }

    /// <summary>The raylet's id for this worker.</summary>
    public required uint WorkerId { get; init; }

    /// <summary>
    /// The owner id the raylet gave this worker: the first half of the ids of the objects it
    /// makes (the node's tag and an owner number). 0: the worker picks one with a random node tag.
    /// </summary>
    public ulong OwnerId { get; init; }

    /// <summary>The session directory.</summary>
    public required string SessionDir { get; init; }

    /// <summary>Directories or assemblies of the job's code.</summary>
    public IReadOnlyList<string> CodePaths { get; init; } = [];

    /// <summary>The node's object store socket, or null for none.</summary>
    public string? PlasmaSocket { get; init; }
}
