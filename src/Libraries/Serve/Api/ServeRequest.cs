using System.Text;
using MemoryPack;

namespace Ray.Serve;

/// <summary>
/// An HTTP request as an ingress deployment sees it: the proxy reads it whole (body included)
/// and sends it to a replica. Deployments handle it with a public method taking a
/// <see cref="ServeRequest"/> (or an array, with <see cref="BatchAttribute"/>).
/// </summary>
[MemoryPackable]
public sealed partial class ServeRequest
{
    /// <summary>The HTTP method (GET, POST, ...).</summary>
    public string Method { get; set; } = "GET";

    /// <summary>The full request path, e.g. <c>/app/items/3</c>.</summary>
    public string Path { get; set; } = "/";

    /// <summary>The application's route prefix that matched, e.g. <c>/app</c>.</summary>
    public string RoutePrefix { get; set; } = "/";

    /// <summary>The query string with its leading '?', or empty.</summary>
    public string Query { get; set; } = "";

    /// <summary>The request's Content-Type, or empty.</summary>
    public string ContentType { get; set; } = "";

    /// <summary>The headers the proxy passes on (name, value), in arrival order.</summary>
    public string[] Headers { get; set; } = [];

    /// <summary>The body bytes (empty when there is none).</summary>
    public byte[] Body { get; set; } = [];

    /// <summary>The body as UTF-8 text.</summary>
    [MemoryPackIgnore]
    public string Text => Encoding.UTF8.GetString(Body);

    /// <summary>The path below the route prefix (<c>/items/3</c> for <c>/app/items/3</c> under <c>/app</c>).</summary>
    [MemoryPackIgnore]
    public string SubPath => RoutePrefix == "/" ? Path : Path.Length == RoutePrefix.Length ? "/" : Path[RoutePrefix.Length..];

    /// <summary>The first header of that name (case-insensitive), or null.</summary>
    public string? Header(string name)
    {
        for (var i = 0; i + 1 < Headers.Length; i += 2)
            if (string.Equals(Headers[i], name, StringComparison.OrdinalIgnoreCase)) return Headers[i + 1];
        return null;
    }
}
