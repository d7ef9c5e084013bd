namespace Ray.Gpu.Collectives;

/// <summary>Configuration of a <see cref="CollectiveGroup"/>.</summary>
public sealed record CollectiveGroupOptions
{
    /// <summary>How long one operation may wait for a peer before the whole group fails.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Messages of at least this many bytes use ring algorithms (bandwidth-optimal: each rank moves
    /// about 2(n-1)/n of the buffer); smaller ones go directly to every peer (fewest hops, lowest latency).
    /// </summary>
    public long RingThresholdBytes { get; init; } = 256 * 1024;
}
