namespace Ray.Contract.Messages;

/// <summary>A driver's hello to a leased worker (<see cref="ClusterMessageKind.WorkerHello"/>).</summary>
/// <param name="Version">The driver's protocol version.</param>
/// <param name="Token">The cluster token.</param>
/// <param name="JobId">The job the driver runs.</param>
/// <param name="GpuIds">The node's GPUs the lease uses.</param>
internal sealed record WorkerHello(uint Version, string Token, uint JobId, int[] GpuIds)
{
    /// <summary>The driver's namespace (tasks' nested drivers use it); null from older drivers.</summary>
    internal string? Namespace { get; init; }
}
