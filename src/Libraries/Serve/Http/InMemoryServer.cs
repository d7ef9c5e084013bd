using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Ray.Serve;

/// <summary>
/// An ASP.NET Core server without a socket: the host gives it the app's pipeline at start, and
/// <see cref="ProcessAsync"/> runs a <see cref="ServeRequest"/> through it with request and
/// response features over memory (as ASP.NET Core's TestServer does).
/// </summary>
internal sealed class InMemoryServer : IServer
{
    private Func<IFeatureCollection, Task<ServeResponse>>? _process;

    public IFeatureCollection Features { get; } = new FeatureCollection();

    public Task StartAsync<TContext>(IHttpApplication<TContext> application, CancellationToken cancellationToken) where TContext : notnull
    {
        _process = features => RunAsync(application, features);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose() { }

    internal Task<ServeResponse> ProcessAsync(ServeRequest request)
    {
        var process = _process ?? throw new InvalidOperationException("the ASP.NET Core app has not started");
        var req = new HttpRequestFeature
        {
            Protocol = "HTTP/1.1",
            Scheme = "http",
            Method = request.Method,
            PathBase = request.RoutePrefix == "/" ? "" : request.RoutePrefix,
            Path = request.SubPath,
            QueryString = request.Query,
            RawTarget = request.Path + request.Query,
            Body = new MemoryStream(request.Body, writable: false),
        };
        for (var i = 0; i + 1 < request.Headers.Length; i += 2) req.Headers.Append(request.Headers[i], request.Headers[i + 1]);
        if (request.ContentType.Length > 0) req.Headers.ContentType = request.ContentType;
        req.Headers.ContentLength = request.Body.Length;
        var body = new MemoryStream();
        var features = new FeatureCollection();
        features.Set<IHttpRequestFeature>(req);
        features.Set<IHttpResponseFeature>(new HttpResponseFeature());
        features.Set<IHttpResponseBodyFeature>(new StreamResponseBodyFeature(body));
        features.Set(body);
        return process(features);
    }

    private static async Task<ServeResponse> RunAsync<TContext>(IHttpApplication<TContext> application, IFeatureCollection features) where TContext : notnull
    {
        var context = application.CreateContext(features);
        Exception? error = null;
        try { await application.ProcessRequestAsync(context).ConfigureAwait(false); }
        catch (Exception e) { error = e; }
        var response = features.Get<IHttpResponseFeature>()!;
        var body = features.Get<MemoryStream>()!;
        application.DisposeContext(context, error);
        if (error is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(error);
        var headers = new List<string>();
        var contentType = "";
        foreach (var (name, values) in response.Headers)
        {
            if (string.Equals(name, "Content-Type", StringComparison.OrdinalIgnoreCase)) { contentType = values.ToString(); continue; }
            if (string.Equals(name, "Content-Length", StringComparison.OrdinalIgnoreCase)) continue;
            foreach (var v in values) { headers.Add(name); headers.Add(v ?? ""); }
        }
        return new ServeResponse { Status = response.StatusCode, ContentType = contentType, Headers = headers.ToArray(), Body = body.ToArray() };
    }
}
