using Ray.Contract.Messages;

namespace Ray.Raylet.Server;

/// <summary>
/// What the raylet's socket server needs from the node it serves. <see cref="Node.NodeManager"/>
/// implements it; tests use fakes, so the server and its message handling run without a store.
/// </summary>
internal interface IRayletHost
{
    /// <summary>The token every peer must present in Hello.</summary>
    string ClusterToken { get; }

    /// <summary>The reply to a successful Hello.</summary>
    HelloReply HelloReply { get; }

    /// <summary>The node's status now (called on a connection's receive loop: keep it quick).</summary>
    RayletStatusReport GetStatus();

    /// <summary>The node's jobs, workers and leases (the cluster messages 10-13 go there).</summary>
    Leases.LeaseManager Leases { get; }

    /// <summary>The cluster's node table: the head's; null on a node that joined a head.</summary>
    Gcs.NodeTable? Nodes => null;

    /// <summary>Asks the raylet to stop gracefully; returns at once.</summary>
    void RequestShutdown(string reason);
}

/// <summary>Where a handler's replies go: a connection's outbox, or a list in tests.</summary>
internal interface IFrameSink
{
    /// <summary>Queues one frame; false when the connection is closing.</summary>
    bool Send(ushort kind, Ray.Protocol.FrameFlags flags, ulong requestId, ReadOnlySpan<byte> payload);
}
