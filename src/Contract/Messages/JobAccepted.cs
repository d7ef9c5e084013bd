namespace Ray.Contract.Messages;

/// <summary>The raylet's answer to a job registration.</summary>
internal sealed record JobAccepted(uint JobId, string NodeId, string PlasmaSocket, string SessionDir, IReadOnlyList<ResourceAmount> Resources);
