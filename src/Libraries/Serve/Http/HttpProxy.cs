using System.Diagnostics;
using System.Net;
using System.Text;
using MemoryPack;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Ray.Serve.Controller;
using Ray.Serve.Replica;

namespace Ray.Serve.Http;

/// <summary>
/// The HTTP ingress: Kestrel in the driver (one proxy for the node the driver runs on). A request
/// goes to the application whose route prefix is the longest match of its path; the proxy reads
/// the body (at most MaxRequestBodyBytes: 413 past it), sends a <see cref="ServeRequest"/> to the
/// ingress deployment's router and writes the <see cref="ServeResponse"/> back. Errors become
/// clear statuses: 404 no route, 408 timeout, 413 too large, 503 back-pressure or no deployment,
/// 500 replica death or deployment error. Malformed HTTP is answered 400 by Kestrel itself.
/// </summary>
internal sealed class HttpProxy : IAsyncDisposable
{
    private readonly ServeController _controller;
    private readonly HttpOptions _options;
    private readonly WebApplication _app;

    private HttpProxy(ServeController controller, HttpOptions options, WebApplication app)
    {
        _controller = controller;
        _options = options;
        _app = app;
    }

    /// <summary>Where the proxy listens (with the port it got when asked for 0).</summary>
    internal Uri Address { get; private set; } = new("http://127.0.0.1/");

    internal static async Task<HttpProxy> StartAsync(ServeController controller, HttpOptions options)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = "Ray.Serve", ContentRootPath = AppContext.BaseDirectory });
        // Kestrel logs every request at Information, which halves its throughput: warnings only.
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var ip = options.Host switch
        {
            "localhost" => IPAddress.Loopback,
            "0.0.0.0" or "*" => IPAddress.Any,
            var h => IPAddress.TryParse(h, out var a) ? a : throw new ArgumentException($"HttpOptions.Host '{h}' is not an IP address (or localhost)"),
        };
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(ip, options.Port);
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = options.MaxRequestBodyBytes;
            k.Limits.KeepAliveTimeout = options.KeepAliveTimeout;
        });
        var app = builder.Build();
        var proxy = new HttpProxy(controller, options, app);
        app.Run(proxy.HandleAsync);
        await app.StartAsync().ConfigureAwait(false);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        proxy.Address = new Uri(address.Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal).Replace("[::]", "127.0.0.1", StringComparison.Ordinal));
        return proxy;
    }

    private async Task HandleAsync(HttpContext ctx)
    {
        var start = Stopwatch.GetTimestamp();
        var path = ctx.Request.Path.Value is { Length: > 0 } p ? p : "/";
        if (path == "/-/healthz") { await WriteAsync(ctx, 200, "success").ConfigureAwait(false); return; }
        if (path == "/-/routes")
        {
            var json = "{" + string.Join(",", _controller.Routes.Select(r => $"\"{r.Prefix}\":\"{r.App}\"")) + "}";
            ctx.Response.ContentType = "application/json";
            await WriteAsync(ctx, 200, json, "application/json").ConfigureAwait(false);
            return;
        }
        var route = Match(path);
        if (route is null)
        {
            await WriteAsync(ctx, 404, $"Path '{path}' not found. Ping http://{ctx.Request.Host}/-/routes for the routes.").ConfigureAwait(false);
            return;
        }
        var status = 500;
        try
        {
            status = await ServeAsync(ctx, route, path).ConfigureAwait(false);
        }
        finally
        {
            ServeMetrics.HttpRequest(route.App, route.Prefix, status, Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }
    }

    private async Task<int> ServeAsync(HttpContext ctx, AppRoute route, string path)
    {
        if (route.HttpMethod is null)
            return await WriteAsync(ctx, 404, $"Application '{route.App}' has no HTTP method: its ingress deployment {route.IngressName} has no public method taking a ServeRequest.").ConfigureAwait(false);
        byte[] body;
        try { body = await ReadBodyAsync(ctx.Request).ConfigureAwait(false); }
        catch (BadHttpRequestException e) { return await WriteAsync(ctx, e.StatusCode, $"Bad request: {e.Message}").ConfigureAwait(false); }
        catch (OperationCanceledException) { return 499; }
        catch (IOException) { return 499; } // the client went away mid-body
        var request = new ServeRequest
        {
            Method = ctx.Request.Method,
            Path = path,
            RoutePrefix = route.Prefix,
            Query = ctx.Request.QueryString.Value ?? "",
            ContentType = ctx.Request.ContentType ?? "",
            Headers = Headers(ctx.Request.Headers),
            Body = body,
        };
        var call = new ReplicaCall { Method = route.HttpMethod, Args = [MemoryPackSerializer.Serialize(request)] };
        using var timeout = _options.RequestTimeout is { } t ? new CancellationTokenSource(t) : null;
        using var linked = timeout is null ? null : CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, ctx.RequestAborted);
        var token = linked?.Token ?? ctx.RequestAborted;
        ServeResponse response;
        try
        {
            if (route.HttpStreamItem is not null) return await HttpStreaming.WriteAsync(ctx, route, call, token).ConfigureAwait(false);
            // The wait stops at the timeout even while a replica still runs the request.
            var bytes = await route.Router.CallAsync(call, route.HttpSynchronous, token).WaitAsync(token).ConfigureAwait(false);
            response = MemoryPackSerializer.Deserialize<ServeResponse>(bytes) ?? new ServeResponse { Status = 204 };
        }
        catch (OperationCanceledException) when (timeout?.IsCancellationRequested == true)
        {
            return await WriteAsync(ctx, 408, $"Request timed out after {_options.RequestTimeout!.Value.TotalSeconds:0.###} s (HttpOptions.RequestTimeout).").ConfigureAwait(false);
        }
        catch (OperationCanceledException) { return 499; } // the client went away
        catch (ServeException e) { return await WriteAsync(ctx, e.HttpStatus, e.Message).ConfigureAwait(false); }
        catch (Exception e) { return await WriteAsync(ctx, 500, $"Internal error in the proxy: {e.GetType().Name}: {e.Message}").ConfigureAwait(false); }
        ctx.Response.StatusCode = response.Status;
        if (response.ContentType.Length > 0) ctx.Response.ContentType = response.ContentType;
        for (var i = 0; i + 1 < response.Headers.Length; i += 2) ctx.Response.Headers.Append(response.Headers[i], response.Headers[i + 1]);
        ctx.Response.ContentLength = response.Body.Length;
        await ctx.Response.Body.WriteAsync(response.Body, ctx.RequestAborted).ConfigureAwait(false);
        return response.Status;
    }

    private AppRoute? Match(string path)
    {
        foreach (var r in _controller.Routes) // longest prefix first
        {
            if (r.Prefix == "/") return r;
            if (path.StartsWith(r.Prefix, StringComparison.Ordinal) && (path.Length == r.Prefix.Length || path[r.Prefix.Length] == '/')) return r;
        }
        return null;
    }

    private async Task<byte[]> ReadBodyAsync(HttpRequest request)
    {
        if (request.ContentLength is { } n)
        {
            if (n > _options.MaxRequestBodyBytes)
                throw new BadHttpRequestException($"the body is {n} bytes; the limit is {_options.MaxRequestBodyBytes} (HttpOptions.MaxRequestBodyBytes)", 413);
            if (n == 0) return [];
            var buffer = new byte[n];
            await request.Body.ReadExactlyAsync(buffer).ConfigureAwait(false);
            return buffer;
        }
        using var ms = new MemoryStream();
        await request.Body.CopyToAsync(ms).ConfigureAwait(false); // Kestrel enforces MaxRequestBodySize (413) on chunked bodies
        return ms.ToArray();
    }

    private static string[] Headers(IHeaderDictionary headers)
    {
        var list = new List<string>(headers.Count * 2);
        foreach (var (name, values) in headers)
            foreach (var v in values) { list.Add(name); list.Add(v ?? ""); }
        return list.ToArray();
    }

    private static async Task<int> WriteAsync(HttpContext ctx, int status, string text, string contentType = "text/plain; charset=utf-8")
    {
        if (ctx.Response.HasStarted) return status;
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = contentType;
        var bytes = Encoding.UTF8.GetBytes(text);
        ctx.Response.ContentLength = bytes.Length;
        try { await ctx.Response.Body.WriteAsync(bytes, ctx.RequestAborted).ConfigureAwait(false); }
        catch (OperationCanceledException) { }
        catch (IOException) { }
        return status;
    }

    public async ValueTask DisposeAsync()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _app.StopAsync(stop.Token).ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
