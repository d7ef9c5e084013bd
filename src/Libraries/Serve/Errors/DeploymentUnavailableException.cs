namespace Ray.Serve;

/// <summary>The deployment is not (or no longer) running: deleted, shut down, or never deployed. HTTP 503.</summary>
public sealed class DeploymentUnavailableException : ServeException
{
    internal DeploymentUnavailableException(string deployment, string why)
        : base($"Deployment '{deployment}' is unavailable: {why}")
    {
        Deployment = deployment;
    }

    /// <summary>The deployment.</summary>
    public string Deployment { get; }

    /// <inheritdoc />
    public override int HttpStatus => 503;
}
