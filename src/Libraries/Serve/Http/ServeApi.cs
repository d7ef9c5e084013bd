using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Ray.Serve.Http;

/// <summary>
/// Serve's REST API (Ray's <c>/api/serve/applications/</c>) on its own Kestrel port, token-checked:
/// GET answers the status as JSON, PUT takes a <see cref="ServeConfig"/> (YAML or JSON) and
/// replaces the set of applications, DELETE deletes every application.
/// </summary>
internal sealed class ServeApi : IAsyncDisposable
{
    private const string Path = "/api/serve/applications";
    private static readonly JsonSerializerOptions s_json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private readonly ServeInstance _serve;
    private readonly byte[] _token;
    private WebApplication? _app;

    private ServeApi(ServeInstance serve, string token)
    {
        _serve = serve;
        _token = Encoding.UTF8.GetBytes(token);
    }

    internal Uri Address { get; private set; } = new("http://127.0.0.1/");

    internal static async Task<ServeApi> StartAsync(ServeInstance serve, string host, int port, string token)
    {
        var api = new ServeApi(serve, token);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = "Ray.Serve.Api", ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(host == "localhost" ? IPAddress.Loopback : IPAddress.Parse(host), port);
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = 1 << 20;
        });
        var app = builder.Build();
        app.Run(api.HandleAsync);
        await app.StartAsync().ConfigureAwait(false);
        api._app = app;
        api.Address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        return api;
    }

    private async Task HandleAsync(HttpContext ctx)
    {
        if (!Authorized(ctx.Request))
        {
            await WriteAsync(ctx, 401, "{\"error\": \"a valid cluster token is required (Authorization: Bearer <token> or X-Ray-Authorization)\"}").ConfigureAwait(false);
            return;
        }
        var path = (ctx.Request.Path.Value ?? "").TrimEnd('/');
        if (path != Path)
        {
            await WriteAsync(ctx, 404, JsonSerializer.Serialize(new { error = $"no such endpoint: {ctx.Request.Path}; the API is {Path}/" }, s_json)).ConfigureAwait(false);
            return;
        }
        switch (ctx.Request.Method)
        {
            case "GET":
                await WriteAsync(ctx, 200, JsonSerializer.Serialize(_serve.Status(), s_json)).ConfigureAwait(false);
                return;
            case "PUT":
                string text;
                using (var reader = new StreamReader(ctx.Request.Body, Encoding.UTF8)) text = await reader.ReadToEndAsync().ConfigureAwait(false);
                try
                {
                    var config = ServeConfig.Parse(text);
                    _serve.Deploy(config);
                    await WriteAsync(ctx, 200, JsonSerializer.Serialize(new { deployed = config.Applications.Select(a => a.Name) }, s_json)).ConfigureAwait(false);
                }
                catch (Exception e) when (e is FormatException or ArgumentException or InvalidOperationException or System.Reflection.TargetInvocationException or BadImageFormatException or FileLoadException)
                {
                    await WriteAsync(ctx, 400, JsonSerializer.Serialize(new { error = e.Message }, s_json)).ConfigureAwait(false);
                }
                return;
            case "DELETE":
                _serve.DeleteAll();
                await WriteAsync(ctx, 200, "{\"deleted\": true}").ConfigureAwait(false);
                return;
            default:
                ctx.Response.Headers.Allow = "GET, PUT, DELETE";
                await WriteAsync(ctx, 405, "{\"error\": \"GET, PUT or DELETE\"}").ConfigureAwait(false);
                return;
        }
    }

    private bool Authorized(HttpRequest r)
    {
        var given = r.Headers.Authorization.ToString() is { } a && a.StartsWith("Bearer ", StringComparison.Ordinal) ? a[7..] : r.Headers["X-Ray-Authorization"].ToString();
        return CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given), _token);
    }

    private static async Task WriteAsync(HttpContext ctx, int status, string json)
    {
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "application/json";
        await ctx.Response.WriteAsync(json).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is null) return;
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _app.StopAsync(stop.Token).ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
