namespace Ray.Contract.Messages;

/// <summary>What <c>ray status</c> shows: the cluster's nodes, their resources, workers, tasks and objects.</summary>
public sealed record RayletStatusReport
{
    /// <summary>The session directory of the answering raylet.</summary>
    public string SessionDir { get; init; } = "";

    /// <summary>How long the answering raylet has been running.</summary>
    public TimeSpan Uptime { get; init; }

    /// <summary>The nodes of the cluster (today: the one raylet).</summary>
    public IReadOnlyList<NodeStatus> Nodes { get; init; } = [];

    /// <summary>Worker processes alive (registered or still starting).</summary>
    public int Workers { get; init; }

    /// <summary>Registered worker processes not leased now.</summary>
    public int IdleWorkers { get; init; }

    /// <summary>Tasks (lease requests) waiting for resources or a worker.</summary>
    public int QueuedTasks { get; init; }

    /// <summary>Jobs (drivers) registered now.</summary>
    public int Jobs { get; init; }

    /// <summary>Worker leases held by drivers now.</summary>
    public int Leases { get; init; }

    /// <summary>Authenticated connections (drivers, workers, CLI).</summary>
    public int Clients { get; init; }

    /// <summary>Objects in the node's shared-memory store.</summary>
    public int Objects { get; init; }

    /// <summary>Bytes allocated in the node's shared-memory store.</summary>
    public long ObjectStoreUsedBytes { get; init; }

    /// <summary>Capacity of the node's shared-memory store.</summary>
    public long ObjectStoreCapacityBytes { get; init; }

    /// <summary>Bytes spilled to disk so far.</summary>
    public long SpilledBytes { get; init; }
}

/// <summary>One node in a status report.</summary>
/// <param name="NodeId">The node's id (hex).</param>
/// <param name="Address">The raylet's host:port.</param>
/// <param name="IsHead">True for the head node.</param>
/// <param name="Alive">False once the node is known to be gone.</param>
/// <param name="Resources">Total and used amount of each resource.</param>
public sealed record NodeStatus(string NodeId, string Address, bool IsHead, bool Alive, IReadOnlyList<ResourceUsage> Resources);

/// <summary>The total and used amount of one resource of a node.</summary>
/// <param name="Name">Resource name (CPU, GPU, memory, object_store_memory or a custom one).</param>
/// <param name="Total">Amount the node has.</param>
/// <param name="Used">Amount held by leases and actors now.</param>
public readonly record struct ResourceUsage(string Name, double Total, double Used);

/// <summary>The raylet's answer to Hello.</summary>
/// <param name="Version">The raylet's protocol version.</param>
/// <param name="NodeId">The node's id (hex).</param>
/// <param name="PlasmaSocketPath">The Unix socket of the node's object store.</param>
/// <param name="ObjectStorePath">The shared-memory file of the node's object store.</param>
public sealed record HelloReply(uint Version, string NodeId, string PlasmaSocketPath, string ObjectStorePath);
