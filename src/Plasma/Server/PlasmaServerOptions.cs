namespace Ray.Plasma.Server;

/// <summary>
/// Limits of the store's socket. Clients that have not said Hello are kept apart from
/// connected ones, so a flood of them cannot keep the node's processes from the store (see
/// docs/PROTOCOL.md, "Connection limits").
/// </summary>
public sealed record PlasmaServerOptions
{
    /// <summary>A client that has not said Hello within this time is disconnected (default 10 s).</summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Clients waiting for their Hello at once, at most (default 128); beyond it the oldest
    /// waiting one is disconnected to make room for the new one.
    /// </summary>
    public int MaxPendingHandshakes { get; init; } = 128;

    /// <summary>Connected clients (Hello done), at most (default 4096); a Hello beyond it is refused (TooManyConnections).</summary>
    public int MaxConnections { get; init; } = 4096;

    /// <summary>
    /// Gets one client may have waiting for an object at once (default 65,536), counted together
    /// with its creates and restores waiting for a full store's reclaim; a request beyond it is
    /// refused with InvalidRequest. A client's waits end when its connection closes.
    /// </summary>
    public int MaxWaitingGetsPerClient { get; init; } = 65_536;

    internal Ray.Protocol.ConnectionLimits Limits => new(MaxPendingHandshakes, HandshakeTimeout, MaxConnections);
}
