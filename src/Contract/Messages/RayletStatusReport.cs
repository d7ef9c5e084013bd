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

    /// <summary>Placement groups on the node, with each bundle's resources and what its work holds.</summary>
    public IReadOnlyList<PlacementGroupRow> PlacementGroups { get; init; } = [];
}
