namespace Ray.Serve;

/// <summary>The deployment's own code threw while handling the request; HTTP 500 with the error's type and message.</summary>
public sealed class DeploymentException : ServeException
{
    internal DeploymentException(string deployment, string remoteType, string remoteMessage, string? remoteStackTrace)
        : base($"Deployment '{deployment}' failed: {remoteType}: {remoteMessage}")
    {
        Deployment = deployment;
        RemoteExceptionType = remoteType;
        RemoteMessage = remoteMessage;
        RemoteStackTrace = remoteStackTrace;
    }

    /// <summary>The deployment.</summary>
    public string Deployment { get; }

    /// <summary>The full name of the exception type the deployment threw.</summary>
    public string RemoteExceptionType { get; }

    /// <summary>Its message.</summary>
    public string RemoteMessage { get; }

    /// <summary>Its stack trace in the replica, when there was one.</summary>
    public string? RemoteStackTrace { get; }

    /// <inheritdoc />
    public override int HttpStatus => 500;
}
