namespace Ray.Contract.Messages;

/// <summary>The raylet's answer to Hello.</summary>
/// <param name="Version">The raylet's protocol version.</param>
/// <param name="NodeId">The node's id (hex).</param>
/// <param name="PlasmaSocketPath">The Unix socket of the node's object store.</param>
/// <param name="ObjectStorePath">The shared-memory file of the node's object store.</param>
public sealed record HelloReply(uint Version, string NodeId, string PlasmaSocketPath, string ObjectStorePath);
