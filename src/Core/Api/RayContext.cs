using Ray.Workers;

namespace Ray;

/// <summary>What user code running inside a task or actor call can learn about it.</summary>
public static class RayContext
{
    /// <summary>True on a worker or actor thread while a task or call runs.</summary>
    public static bool IsInsideTask => WorkerContext.Current?.CurrentTask is not null;

    /// <summary>
    /// The node's GPUs assigned to the task or actor running here (Ray's <c>get_gpu_ids()</c>):
    /// in a worker process of a cluster, the ids the raylet gave its lease (also set as
    /// CUDA_VISIBLE_DEVICES, so CUDA sees only them); empty without GPUs and in an embedded
    /// runtime, which accounts GPUs but does not assign instances.
    /// </summary>
    public static IReadOnlyList<int> GpuIds => Cluster.WorkerSide.WorkerSession.GpuIds;

    /// <summary>The id of the task or actor call running now.</summary>
    public static TaskId? TaskId => WorkerContext.Current?.CurrentTask?.Id;

    /// <summary>
    /// Signalled when the running task is cancelled. Cancellation in .NET is cooperative:
    /// long tasks should check it (Ray interrupts the Python thread instead).
    /// </summary>
    public static CancellationToken CancellationToken =>
        WorkerContext.Current?.CurrentTask?.GetCancellationToken() ?? Cluster.WorkerSide.WorkerSession.CurrentToken;

    internal static RayRuntime? CurrentRuntime => WorkerContext.Current?.Core.Facade;
}
