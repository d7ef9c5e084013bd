namespace Ray.Raylet.Server;

/// <summary>
/// Limits of the raylet's socket server. Connections that have not completed their Hello are
/// kept apart from authenticated ones: a flood of them can never use up the slots of drivers
/// and workers (see docs/PROTOCOL.md, "Connection limits").
/// </summary>
public sealed record RayletServerOptions
{
    /// <summary>A connection that has not completed its Hello within this time is closed (default 10 s).</summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Connections waiting for their Hello at once, at most (default 256); beyond it the oldest
    /// waiting one is closed to make room for the new one.
    /// </summary>
    public int MaxPendingHandshakes { get; init; } = 256;

    /// <summary>Authenticated connections, at most (default 4096); a Hello beyond it is refused (TooManyConnections).</summary>
    public int MaxConnections { get; init; } = 4096;

    internal Ray.Protocol.ConnectionLimits Limits => new(MaxPendingHandshakes, HandshakeTimeout, MaxConnections);
}
