namespace Ray.Protocol;

/// <summary>
/// The connection limits of one listening socket: how many connections may wait for their
/// handshake at once (the oldest is closed beyond that), how long one may wait, and how many
/// authenticated connections may be open (a Hello beyond that is refused).
/// </summary>
/// <param name="MaxPendingHandshakes">Connections that have not completed their Hello, at most.</param>
/// <param name="HandshakeTimeout">A connection that has not completed its Hello within this time is closed.</param>
/// <param name="MaxConnections">Authenticated connections, at most.</param>
internal readonly record struct ConnectionLimits(int MaxPendingHandshakes, TimeSpan HandshakeTimeout, int MaxConnections)
{
    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> for a cap below 1 or a timeout that is not positive.</summary>
    internal void Validate()
    {
        if (MaxPendingHandshakes < 1) throw new ArgumentOutOfRangeException(nameof(MaxPendingHandshakes), MaxPendingHandshakes, "at least one pending handshake must be allowed");
        if (MaxConnections < 1) throw new ArgumentOutOfRangeException(nameof(MaxConnections), MaxConnections, "at least one connection must be allowed");
        if (HandshakeTimeout <= TimeSpan.Zero || HandshakeTimeout.TotalMilliseconds > int.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(HandshakeTimeout), HandshakeTimeout, "the handshake timeout must be positive (and under 24 days)");
    }
}
