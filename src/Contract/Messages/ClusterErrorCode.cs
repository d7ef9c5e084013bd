namespace Ray.Contract.Messages;

/// <summary>
/// The code in an error reply of the cluster conversations (driver, worker and CLI to the raylet,
/// and driver to worker). One set for both: stable numbers that travel on the wire, so never
/// renumber an existing member.
/// </summary>
public enum ClusterErrorCode : ushort
{
    /// <summary>No more specific code.</summary>
    Unknown = 0,
    /// <summary>A malformed, truncated or unknown message, or a message before Hello. The connection is closed.</summary>
    ProtocolError = 1,
    /// <summary>The peer speaks another protocol version. The connection is closed.</summary>
    VersionMismatch = 2,
    /// <summary>The peer's cluster token is wrong. The connection is closed.</summary>
    Unauthenticated = 3,
    /// <summary>The raylet is shutting down and takes no new requests.</summary>
    ShuttingDown = 4,
    /// <summary>The raylet failed while handling the request.</summary>
    Internal = 5,
    /// <summary>A lease request this node can never fit (more than its total, or a resource it lacks).</summary>
    Infeasible = 6,
    /// <summary>A lease message before RegisterJob on this connection, or a second RegisterJob.</summary>
    NoJob = 7,
    /// <summary>No worker process could be started for the job.</summary>
    WorkerStartFailed = 8,
    /// <summary>A valid Hello refused because the authenticated connections are at their cap. The connection is closed.</summary>
    TooManyConnections = 9,
    /// <summary>The placement group named in the request was removed, or is unknown to this raylet.</summary>
    PlacementGroupRemoved = 10,
    /// <summary>A placement group with that name (or id) already exists.</summary>
    AlreadyExists = 11,
    /// <summary>No live actor holds the name looked up in that namespace.</summary>
    ActorNotFound = 12,
}
