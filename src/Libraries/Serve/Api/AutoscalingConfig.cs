namespace Ray.Serve;

/// <summary>
/// Queue-based autoscaling (Ray Serve's <c>autoscaling_config</c>, with Ray's defaults): the
/// desired number of replicas is the ongoing requests (averaged over <see cref="LookBackPeriod"/>)
/// divided by <see cref="TargetOngoingRequests"/>, within [min, max]; a change is made only after
/// the decision held for the upscale or downscale delay.
/// </summary>
public sealed record AutoscalingConfig
{
    /// <summary>Fewest replicas (Ray's default 1).</summary>
    public int MinReplicas { get; init; } = 1;

    /// <summary>Most replicas (Ray's default 1).</summary>
    public int MaxReplicas { get; init; } = 1;

    /// <summary>Replicas to start with; null: <see cref="MinReplicas"/>.</summary>
    public int? InitialReplicas { get; init; }

    /// <summary>Ongoing requests per replica the autoscaler aims for (Ray's default 2).</summary>
    public double TargetOngoingRequests { get; init; } = 2;

    /// <summary>How long more replicas must be wanted before they are added (Ray's default 30 s).</summary>
    public TimeSpan UpscaleDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long fewer replicas must be wanted before some are removed (Ray's default 600 s).</summary>
    public TimeSpan DownscaleDelay { get; init; } = TimeSpan.FromSeconds(600);

    /// <summary>How often replicas' ongoing requests are sampled (Ray's default 10 s).</summary>
    public TimeSpan MetricsInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The window the samples are averaged over (Ray's default 30 s).</summary>
    public TimeSpan LookBackPeriod { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Multiplies each upscaling step (Ray's <c>upscaling_factor</c>; default 1).</summary>
    public double UpscalingFactor { get; init; } = 1;

    /// <summary>Multiplies each downscaling step (Ray's <c>downscaling_factor</c>; default 1).</summary>
    public double DownscalingFactor { get; init; } = 1;

    internal int Initial => InitialReplicas ?? MinReplicas;

    internal void Validate(string deployment)
    {
        if (MinReplicas < 0 || MaxReplicas < 1 || MinReplicas > MaxReplicas)
            throw new ArgumentOutOfRangeException(nameof(MinReplicas), $"deployment '{deployment}': autoscaling needs 0 <= MinReplicas <= MaxReplicas and MaxReplicas >= 1 (got {MinReplicas}..{MaxReplicas})");
        if (Initial < MinReplicas || Initial > MaxReplicas)
            throw new ArgumentOutOfRangeException(nameof(InitialReplicas), $"deployment '{deployment}': InitialReplicas {Initial} is outside {MinReplicas}..{MaxReplicas}");
        if (TargetOngoingRequests <= 0) throw new ArgumentOutOfRangeException(nameof(TargetOngoingRequests), $"deployment '{deployment}': TargetOngoingRequests must be positive");
        if (MetricsInterval <= TimeSpan.Zero || LookBackPeriod <= TimeSpan.Zero || UpscaleDelay < TimeSpan.Zero || DownscaleDelay < TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(MetricsInterval), $"deployment '{deployment}': autoscaling intervals must be positive");
        if (UpscalingFactor <= 0 || DownscalingFactor <= 0) throw new ArgumentOutOfRangeException(nameof(UpscalingFactor), $"deployment '{deployment}': scaling factors must be positive");
    }
}
