namespace Ray.Contract.Messages;

/// <summary>The raylet's answer to a job registration.</summary>
internal sealed record JobAccepted(uint JobId, string NodeId, string PlasmaSocket, string SessionDir, IReadOnlyList<ResourceAmount> Resources)
{
    /// <summary>
    /// The owner id the raylet gave the driver (Ray.Contract.Ids.OwnerIds: the node's tag and an
    /// owner number); the first half of every id the driver makes. 0 from an older raylet.
    /// </summary>
    internal ulong OwnerId { get; init; }
}
