namespace Ray.Serve;

/// <summary>The HTTP proxy's settings (Ray Serve's <c>http_options</c>).</summary>
public sealed record HttpOptions
{
    /// <summary>The address to listen on (Ray's default 127.0.0.1).</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>The port (Ray's default 8000); 0 picks a free one (see <see cref="ServeInstance.HttpAddress"/>).</summary>
    public int Port { get; init; } = 8000;

    /// <summary>How long a request may take end to end before the client gets 408; null (default): no limit.</summary>
    public TimeSpan? RequestTimeout { get; init; }

    /// <summary>How long an idle keep-alive connection stays open (Ray's default 5 s).</summary>
    public TimeSpan KeepAliveTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Largest request body accepted; a larger one gets 413. Default 16 MiB.</summary>
    public long MaxRequestBodyBytes { get; init; } = 16L << 20;

    /// <summary>False: no HTTP proxy is started (handles only; Ray's <c>proxy_location="Disabled"</c>).</summary>
    public bool Enabled { get; init; } = true;
}
