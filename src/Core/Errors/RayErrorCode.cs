namespace Ray;

/// <summary>
/// The code every <see cref="RayException"/> carries. Stable numbers: they travel on the wire
/// between processes, so never renumber an existing member.
/// </summary>
public enum RayErrorCode
{
    /// <summary>An error with no more specific code.</summary>
    Unknown = 0,
    /// <summary>User code in a task or actor method threw.</summary>
    TaskFailed = 1,
    /// <summary>The actor is dead (killed, failed to construct, or its worker died).</summary>
    ActorDied = 2,
    /// <summary>The object is gone: freed, or lost with its node.</summary>
    ObjectLost = 3,
    /// <summary>The object store has no room even after eviction and spilling.</summary>
    ObjectStoreFull = 4,
    /// <summary>A get or wait ran out of time; the object itself is untouched.</summary>
    GetTimeout = 5,
    /// <summary>The task was cancelled before it produced a value.</summary>
    TaskCancelled = 6,
    /// <summary>A value could not be serialized or deserialized.</summary>
    Serialization = 7,
    /// <summary>The request needs more resources than the whole runtime has.</summary>
    ResourcesUnsatisfiable = 8,
    /// <summary>No actor has the given name.</summary>
    ActorNotFound = 9,
    /// <summary>A peer sent a malformed or oversized frame.</summary>
    Protocol = 10,
    /// <summary>The runtime was shut down while the operation was pending.</summary>
    RuntimeShutdown = 11,
    /// <summary>An argument to a runtime API was invalid.</summary>
    InvalidArgument = 12,
    /// <summary>The worker running the task died (a system failure, retried per max retries).</summary>
    WorkerDied = 13,
    /// <summary>Talking to the cluster failed (no raylet, refused token, lost connection, refused request).</summary>
    Cluster = 14,
    /// <summary>The placement group a task or actor was placed into was removed (or is unknown).</summary>
    PlacementGroupRemoved = 15,
    /// <summary>The object was freed explicitly (<c>Free</c>) while references to it remained.</summary>
    ObjectFreed = 16,
}
