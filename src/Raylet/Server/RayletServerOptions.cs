namespace Ray.Raylet.Server;

/// <summary>Limits of the raylet's socket server.</summary>
public sealed record RayletServerOptions
{
    /// <summary>A connection that has not said Hello within this time is closed.</summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Connections beyond this many are closed as soon as they are accepted.</summary>
    public int MaxConnections { get; init; } = 4096;
}
