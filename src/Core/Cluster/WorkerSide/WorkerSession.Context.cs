namespace Ray.Cluster.WorkerSide;

/// <summary>
/// What <see cref="RayContext"/> shows inside a worker process: the job, node and namespace of the
/// process, and per lease (from the driver's WorkerHello) the resources it holds, its placement
/// group bundle and the actor it is for.
/// </summary>
internal sealed partial class WorkerSession
{
    private LeaseContext? _context;
    private static LeaseContext? s_actorContext;

    /// <summary>True in a worker process (set when its host starts).</summary>
    internal static bool IsWorkerProcess { get; set; }

    /// <summary>The job this worker process serves.</summary>
    internal static uint ProcessJobId { get; set; }

    /// <summary>The node (raylet) this worker process belongs to.</summary>
    internal static string ProcessNodeId { get; set; } = "";

    /// <summary>The lease context of what runs on this thread: its task's session's, else the actor's (calls on the actor's own threads).</summary>
    internal static LeaseContext? CurrentContext => t_running?._context ?? Volatile.Read(ref s_actorContext);

    /// <summary>The actor this worker process holds, if any.</summary>
    internal static ActorId? ProcessActorId => Volatile.Read(ref s_actorContext)?.Actor is { } a ? new ActorId(a.Owner, a.Sequence) : null;
}
