namespace Ray.Protocol;

/// <summary>
/// Why a connection that never completed its Hello was closed: the key of the rate-limited log
/// line about it (see <see cref="LogThrottle{TReason}"/>).
/// </summary>
internal enum ConnectionRejection
{
    /// <summary>Pushed out of a full pending pool by a newer connection.</summary>
    Evicted,
    /// <summary>No Hello within the handshake timeout.</summary>
    HandshakeTimeout,
    /// <summary>A malformed frame or a request before Hello.</summary>
    BadInput,
    /// <summary>A Hello with the wrong cluster token.</summary>
    WrongToken,
    /// <summary>A Hello with another protocol version.</summary>
    VersionMismatch,
    /// <summary>A valid Hello, refused because the authenticated connections are at their cap.</summary>
    OverCapacity,
    /// <summary>The peer went away before its Hello.</summary>
    ClosedBeforeHello,
}
