namespace Ray.Serve;

/// <summary>
/// A request was dropped because every replica was busy and the caller's queue was full
/// (<see cref="DeploymentOptions.MaxQueuedRequests"/>); HTTP 503. Retry later.
/// </summary>
public sealed class BackPressureException : ServeException
{
    internal BackPressureException(string deployment, int queued, int maxQueued)
        : base($"Request dropped due to backpressure: deployment '{deployment}' has {queued} requests queued (max_queued_requests={maxQueued}) and every replica is at max_ongoing_requests.")
    {
        Deployment = deployment;
    }

    /// <summary>The deployment that refused the request.</summary>
    public string Deployment { get; }

    /// <inheritdoc />
    public override int HttpStatus => 503;
}
