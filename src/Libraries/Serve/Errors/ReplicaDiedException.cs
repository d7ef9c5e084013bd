namespace Ray.Serve;

/// <summary>
/// The replica running the request died before it answered (its actor was killed or its worker
/// process exited); only requests in flight on that replica fail this way. HTTP 500.
/// </summary>
public sealed class ReplicaDiedException : ServeException
{
    internal ReplicaDiedException(string deployment, string replica, Exception cause)
        : base($"Replica {replica} of deployment '{deployment}' died while handling the request: {cause.Message}", cause)
    {
        Deployment = deployment;
        Replica = replica;
    }

    /// <summary>The deployment.</summary>
    public string Deployment { get; }

    /// <summary>The replica's id.</summary>
    public string Replica { get; }

    /// <inheritdoc />
    public override int HttpStatus => 500;
}
