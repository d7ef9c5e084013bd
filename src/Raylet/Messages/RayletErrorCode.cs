namespace Ray.Raylet.Messages;

/// <summary>
/// The code in a raylet error reply. Stable numbers: they travel on the wire, so never renumber
/// an existing member.
/// </summary>
public enum RayletErrorCode : ushort
{
    /// <summary>No more specific code.</summary>
    Unknown = 0,
    /// <summary>A malformed, truncated or unknown message, or a message before Hello. The connection is closed.</summary>
    ProtocolError = 1,
    /// <summary>The peer speaks another protocol version. The connection is closed.</summary>
    VersionMismatch = 2,
    /// <summary>The peer's cluster token is wrong. The connection is closed.</summary>
    Unauthenticated = 3,
    /// <summary>The raylet is shutting down and takes no new requests.</summary>
    ShuttingDown = 4,
    /// <summary>The raylet failed while handling the request.</summary>
    Internal = 5,
}
