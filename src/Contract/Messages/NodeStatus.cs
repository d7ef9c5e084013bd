namespace Ray.Contract.Messages;

/// <summary>One node in a status report.</summary>
/// <param name="NodeId">The node's id (hex).</param>
/// <param name="Address">The raylet's host:port.</param>
/// <param name="IsHead">True for the head node.</param>
/// <param name="Alive">False once the node is known to be gone.</param>
/// <param name="Resources">Total and used amount of each resource.</param>
public sealed record NodeStatus(string NodeId, string Address, bool IsHead, bool Alive, IReadOnlyList<ResourceUsage> Resources);
