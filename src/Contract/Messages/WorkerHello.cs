namespace Ray.Contract.Messages;

/// <summary>A driver's hello to a leased worker (<see cref="ClusterMessageKind.WorkerHello"/>).</summary>
/// <param name="Version">The driver's protocol version.</param>
/// <param name="Token">The cluster token.</param>
/// <param name="JobId">The job the driver runs.</param>
/// <param name="GpuIds">The node's GPUs the lease uses.</param>
internal sealed record WorkerHello(uint Version, string Token, uint JobId, int[] GpuIds)
{
    /// <summary>What the lease is for (RayContext in the worker, the nested driver's namespace); null from older drivers.</summary>
    internal LeaseContext? Context { get; init; }
}

/// <summary>
/// What a driver tells a leased worker about the lease in WorkerHello: its namespace, the
/// resources the lease holds, the placement group bundle it holds them in (and whether tasks
/// submitted from it go there too), and the actor it is for.
/// </summary>
internal sealed record LeaseContext(string Namespace, IReadOnlyList<ResourceAmount> Resources, LeasePlacement? Placement, bool CaptureChildTasks, (ulong Owner, ulong Sequence)? Actor)
{
    /// <summary>The actor outlives its driver: the worker keeps it when the driver's session closes.</summary>
    internal bool Detached { get; init; }
}
