using MemoryPack;

namespace Ray.Serve.Replica;

/// <summary>
/// What a replica actor is built from: the user class by name, its constructor arguments each
/// serialized by their runtime type (a deployment handle travels as its deployment key), and the
/// options the replica enforces itself. Sent to the actor's worker process when connected.
/// </summary>
[MemoryPackable]
internal sealed partial class ReplicaInit
{
    public string DeploymentKey { get; set; } = "";
    public string DeploymentName { get; set; } = "";
    public string ReplicaId { get; set; } = "";
    public string UserType { get; set; } = "";
    /// <summary>Per argument: "" for null, the runtime type's assembly-qualified name, or <see cref="HandlePrefix"/> + the handle type's.</summary>
    public string[] ArgTypes { get; set; } = [];
    public byte[][] Args { get; set; } = [];
    public string? UserConfigType { get; set; }
    public byte[]? UserConfig { get; set; }
    public int MaxOngoingRequests { get; set; } = 5;

    internal const string HandlePrefix = "handle:";
}

/// <summary>One request to a replica: the user method by name and each argument serialized by its declared type.</summary>
[MemoryPackable]
internal sealed partial class ReplicaCall
{
    public string Method { get; set; } = "";
    public byte[][] Args { get; set; } = [];
}

/// <summary>How a replica answered a call.</summary>
internal enum ReplyStatus : byte
{
    /// <summary>The method's result is in the payload.</summary>
    Ok,
    /// <summary>The replica was at MaxOngoingRequests (or stopping) and did not take the call: try another.</summary>
    Rejected,
    /// <summary>The user's code threw; the error fields say what.</summary>
    UserError,
}

/// <summary>A replica's answer; <see cref="Ongoing"/> is its queue length after the call, which routers cache.</summary>
[MemoryPackable]
internal sealed partial class ReplicaReply
{
    public ReplyStatus Status { get; set; }
    public byte[] Payload { get; set; } = [];
    public int Ongoing { get; set; }
    public string? ErrorType { get; set; }
    public string? ErrorMessage { get; set; }
    public string? ErrorStack { get; set; }
}

/// <summary>Where calls to a deployment go, as the controller tells routers in worker processes.</summary>
[MemoryPackable]
internal sealed partial class RouteInfo
{
    public string Key { get; set; } = "";
    public string DeploymentName { get; set; } = "";
    public int MaxOngoingRequests { get; set; } = 5;
    public int MaxQueuedRequests { get; set; } = -1;
}

/// <summary>A replica's load and health snapshot, for the controller's autoscaler and status.</summary>
[MemoryPackable]
internal sealed partial class ReplicaStats
{
    public int Ongoing { get; set; }
    public long Processed { get; set; }
    public int Pid { get; set; }
    public int[] BatchSizes { get; set; } = [];
}

/// <summary>What a stream has produced since the last pull; <see cref="Done"/> once it ended (with the error, if it failed).</summary>
[MemoryPackable]
internal sealed partial class StreamChunk
{
    public byte[][] Items { get; set; } = [];
    public bool Done { get; set; }
    public string? ErrorType { get; set; }
    public string? ErrorMessage { get; set; }
}
