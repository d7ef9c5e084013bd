namespace Ray.Contract.Messages;

/// <summary>A granted lease: which worker, and where the driver reaches it.</summary>
internal sealed record LeaseGrant(ulong LeaseId, uint WorkerId, int Pid, string WorkerSocket)
{
    /// <summary>The node's GPUs this lease uses (empty without GPUs).</summary>
    internal IReadOnlyList<int> GpuIds { get; init; } = [];
}
