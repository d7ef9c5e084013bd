namespace Ray.Serve.Controller;

/// <summary>
/// Ray Serve's default queue-based policy, as a pure decision: samples of total ongoing requests
/// (replicas' running requests plus requests queued in routers) are averaged over the look-back
/// window; the desired count is that average over the target per replica, moved toward by the
/// scaling factor, within [min, max]; it is adopted only after it held for the upscale or
/// downscale delay (so a short burst or lull does not flap the replica count).
/// </summary>
internal sealed class AutoscalingPolicy(AutoscalingConfig config)
{
    private readonly Queue<(DateTime At, double Total)> _samples = new();
    private DateTime? _upSince;
    private DateTime? _downSince;

    internal AutoscalingConfig Config { get; } = config;

    internal void Record(DateTime now, double totalOngoing)
    {
        _samples.Enqueue((now, totalOngoing));
        while (_samples.Count > 0 && now - _samples.Peek().At > Config.LookBackPeriod) _samples.Dequeue();
    }

    /// <summary>The desired replica count from the samples alone (no delays).</summary>
    internal int Desired(int current)
    {
        if (_samples.Count == 0) return Math.Clamp(current, Config.MinReplicas, Config.MaxReplicas);
        var avg = _samples.Average(s => s.Total);
        int desired;
        if (current == 0) desired = avg > 0 ? 1 : 0;
        else
        {
            var raw = avg / Config.TargetOngoingRequests;
            var factor = raw > current ? Config.UpscalingFactor : Config.DownscalingFactor;
            desired = (int)Math.Ceiling(current + factor * (raw - current) - 1e-9);
        }
        return Math.Clamp(desired, Config.MinReplicas, Config.MaxReplicas);
    }

    /// <summary>The target to run now: <paramref name="current"/> unless the desired count has differed for the delay.</summary>
    internal int Decide(DateTime now, int current)
    {
        var desired = Desired(current);
        if (desired > current)
        {
            _downSince = null;
            _upSince ??= now;
            if (now - _upSince.Value >= Config.UpscaleDelay) { _upSince = null; return desired; }
        }
        else if (desired < current)
        {
            _upSince = null;
            _downSince ??= now;
            if (now - _downSince.Value >= Config.DownscaleDelay) { _downSince = null; return desired; }
        }
        else
        {
            _upSince = null;
            _downSince = null;
        }
        return current;
    }
}
