using Ray.Cluster.WorkerSide;
using Ray.Workers;

namespace Ray;

/// <summary>
/// What code can learn about where it runs (Ray's runtime context): inside a task or actor call,
/// about that task or call; on a driver's own thread, about the driver's runtime. The same in an
/// embedded runtime, a connected driver and a worker process.
/// </summary>
public static class RayContext
{
    /// <summary>True on a worker or actor thread while a task or call runs.</summary>
    public static bool IsInsideTask => WorkerContext.Current?.CurrentTask is not null || WorkerSession.InTask;

    /// <summary>
    /// The node's GPUs assigned to the task or actor running here (Ray's <c>get_gpu_ids()</c>):
    /// in a worker process of a cluster, the ids the raylet gave its lease (also set as
    /// CUDA_VISIBLE_DEVICES, so CUDA sees only them); empty without GPUs and in an embedded
    /// runtime, which accounts GPUs but does not assign instances.
    /// </summary>
    public static IReadOnlyList<int> GpuIds => WorkerSession.GpuIds;

    /// <summary>The id of the task or actor call running now (in-process runtimes; null in a worker process and outside tasks).</summary>
    public static TaskId? TaskId => WorkerContext.Current?.CurrentTask?.Id;

    /// <summary>
    /// Signalled when the running task is cancelled. Cancellation in .NET is cooperative:
    /// long tasks should check it (Ray interrupts the Python thread instead).
    /// </summary>
    public static CancellationToken CancellationToken =>
        WorkerContext.Current?.CurrentTask?.GetCancellationToken() ?? WorkerSession.CurrentToken;

    /// <summary>The job (driver) the code runs for: the raylet's job number; 0 in an embedded runtime, which has no raylet.</summary>
    public static uint JobId => WorkerSession.IsWorkerProcess && WorkerContext.Current is null ? WorkerSession.ProcessJobId
        : RuntimeHere()?.Core.Cluster?.Job.JobId ?? 0;

    /// <summary>The node the code runs on: the raylet's node id, or the embedded runtime's own.</summary>
    public static string NodeId => WorkerSession.IsWorkerProcess && WorkerContext.Current is null ? WorkerSession.ProcessNodeId
        : RuntimeHere() is { } rt ? rt.Core.NodeId : "";

    /// <summary>The namespace named actors are looked up in from here (the driver's, in its tasks and actors too).</summary>
    public static string Namespace => WorkerSession.IsWorkerProcess && WorkerContext.Current is null ? WorkerSession.JobNamespace ?? ""
        : RuntimeHere()?.Namespace ?? "";

    /// <summary>The actor whose call runs here, or null outside actors.</summary>
    public static ActorId? ActorId => WorkerContext.Current?.Actor?.Id ?? (WorkerSession.IsWorkerProcess ? WorkerSession.ProcessActorId : null);

    /// <summary>
    /// The resources held by the task or actor running here (Ray's <c>get_assigned_resources()</c>),
    /// by name ("memory" in bytes); empty outside tasks.
    /// </summary>
    public static IReadOnlyDictionary<string, double> AssignedResources
    {
        get
        {
            if (WorkerContext.Current is { } c)
            {
                var held = c.Actor is { } actor && c.CurrentTask is Actors.SubmittedActorCall ? actor.Request : c.CurrentTask?.Class.Request;
                return held is null ? Empty : c.Core.ToDictionary(held, dropZeros: true);
            }
            if (WorkerSession.CurrentContext is not { } lease) return Empty;
            var d = new Dictionary<string, double>(StringComparer.Ordinal);
            foreach (var (name, units) in lease.Resources) d[name] = ResourceUnits.ToAmount(name, units);
            return d;
        }
    }

    /// <summary>The placement group the task or actor running here was placed into, or null.</summary>
    public static PlacementGroupId? PlacementGroupId
    {
        get
        {
            if (WorkerContext.Current is { } c)
                return (c.CurrentTask is Actors.SubmittedActorCall ? c.Actor?.Placement : c.CurrentTask?.Class.Placement ?? c.Actor?.Placement)?.Group.Id;
            return WorkerSession.CurrentContext?.Placement is { } p ? new PlacementGroupId(p.Owner, p.Sequence) : null;
        }
    }

    private static readonly IReadOnlyDictionary<string, double> Empty = new Dictionary<string, double>();

    internal static RayRuntime? CurrentRuntime => WorkerContext.Current?.Core.Facade;

    // The runtime of this thread's task, else the driver's (never the worker's nested one: asking must not make it).
    private static RayRuntime? RuntimeHere() => CurrentRuntime ?? RayRuntime.LastStarted;
}
