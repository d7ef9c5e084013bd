using Ray.Cluster.Wire;

namespace Ray.Raylet.Messages;

/// <summary>
/// Message kinds on the raylet's TCP port (documented in docs/PROTOCOL.md, "Raylet"). A reply
/// has the request's kind and id with the Reply flag; an error reply adds the Error flag and
/// carries <c>u16 code | string message</c> (<see cref="RayletErrorCode"/>).
/// </summary>
public enum RayletMessageKind : ushort
{
    /// <summary>
    /// The versioned handshake, first on every connection: <c>u32 version | string token</c> ->
    /// <c>u32 version | string node id | string plasma socket path | string object store path</c>.
    /// A wrong version or token gets an error reply and the connection is closed.
    /// </summary>
    Hello = 1,

    /// <summary>Empty -> the node's status (<see cref="RayletStatusReport"/>, see <see cref="RayletCodec"/>).</summary>
    Status = 2,

    /// <summary>Empty -> empty; then the raylet stops gracefully. May be sent one-way (NoReply).</summary>
    Shutdown = 3,

    /// <summary>
    /// A driver registers its job (one per connection; the connection closing ends the job).
    /// Layouts: Ray.Core's <c>ClusterMessageKind.RegisterJob</c> and docs/PROTOCOL.md ("Cluster").
    /// </summary>
    RegisterJob = (ushort)ClusterMessageKind.RegisterJob,

    /// <summary>A driver asks for a worker lease; the grant may come much later.</summary>
    RequestLease = (ushort)ClusterMessageKind.RequestLease,

    /// <summary>A driver gives a lease back (idempotent).</summary>
    ReturnLease = (ushort)ClusterMessageKind.ReturnLease,

    /// <summary>A worker process the raylet started announces itself; its connection stays open for its life.</summary>
    RegisterWorker = (ushort)ClusterMessageKind.RegisterWorker,

    /// <summary>One-way from a worker: the task it runs blocked in Get (1) or runs again (0); its lease's resources are lent out meanwhile.</summary>
    WorkerBlocked = (ushort)ClusterMessageKind.WorkerBlocked,
}
