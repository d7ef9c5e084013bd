namespace Ray.Serve;

/// <summary>Options for starting Serve (Ray Serve's <c>serve.start(...)</c>).</summary>
public sealed record ServeOptions
{
    /// <summary>The HTTP proxy's settings.</summary>
    public HttpOptions Http { get; init; } = new();

    /// <summary>
    /// The port of the REST API (<c>GET/PUT/DELETE /api/serve/applications/</c>, what
    /// <c>serve deploy/status/shutdown</c> call; Ray serves it on the dashboard's 8265); 0 picks a
    /// free one. Null (default): no REST API.
    /// </summary>
    public int? ApiPort { get; init; }

    /// <summary>
    /// The token REST API calls must carry (<c>Authorization: Bearer</c> or <c>X-Ray-Authorization</c>);
    /// null: RAY_CLUSTER_TOKEN. The API does not start without one.
    /// </summary>
    public string? ApiToken { get; init; }

    /// <summary>How often the controller reconciles replicas with their targets (Ray's 0.1 s).</summary>
    public TimeSpan ControlLoopInterval { get; init; } = TimeSpan.FromMilliseconds(100);
}
