namespace Ray.Protocol;

/// <summary>Why a <see cref="HandshakeGate{T}"/> pushed a connection out before its Hello.</summary>
internal enum HandshakeRejection
{
    /// <summary>The pending pool was full and this was the oldest connection in it.</summary>
    Evicted,
    /// <summary>No Hello came within the handshake timeout.</summary>
    Timeout,
}
