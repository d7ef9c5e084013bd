namespace Ray;

/// <summary>
/// Talking to the cluster failed: no raylet at the address, a refused token, a lost connection
/// to the raylet, or a request the raylet refused (e.g. resources no node has).
/// </summary>
public sealed class RayClusterException : RayException
{
    internal RayClusterException(string message, Exception? inner = null) : base(RayErrorCode.Cluster, message, inner) { }

    internal Ray.Contract.Messages.ClusterErrorCode WireCode { get; init; }
}
