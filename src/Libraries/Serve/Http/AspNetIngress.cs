using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Ray.Serve;

/// <summary>
/// An ingress deployment whose HTTP handling is an ASP.NET Core app (Ray's
/// <c>@serve.ingress(FastAPI app)</c>): subclass it, map endpoints in <see cref="Configure"/>
/// (minimal APIs, middleware), and deploy the subclass. Each replica builds the app once and runs
/// every request through its pipeline in memory (no socket): the request path is seen below the
/// application's route prefix (the prefix is the PathBase).
/// <code>
/// public sealed class Api : AspNetIngress
/// {
///     protected override void Configure(WebApplication app) => app.MapGet("/hello/{name}", (string name) => $"hello {name}");
/// }
/// </code>
/// </summary>
public abstract class AspNetIngress : IDisposable
{
    private readonly Lazy<Task<InMemoryServer>> _server;

    /// <summary>Builds nothing yet: the app is built on the first request (after the subclass's constructor).</summary>
    protected AspNetIngress() => _server = new(StartAsync, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Adds services before the app is built (optional).</summary>
    protected virtual void ConfigureServices(IServiceCollection services) { }

    /// <summary>Maps the endpoints and middleware of the app.</summary>
    protected abstract void Configure(WebApplication app);

    /// <summary>The HTTP method Serve calls: runs the request through the app.</summary>
    public async Task<ServeResponse> Handle(ServeRequest request)
    {
        var server = await _server.Value.ConfigureAwait(false);
        return await server.ProcessAsync(request).ConfigureAwait(false);
    }

    private async Task<InMemoryServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = GetType().Name, ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var server = new InMemoryServer();
        builder.Services.AddSingleton<IServer>(server); // instead of Kestrel: requests come from Serve
        ConfigureServices(builder.Services);
        var app = builder.Build();
        Configure(app);
        await app.StartAsync().ConfigureAwait(false); // hands the server its pipeline
        _app = app;
        return server;
    }

    private WebApplication? _app;

    /// <summary>Stops the app.</summary>
    public void Dispose()
    {
        (_app as IDisposable)?.Dispose();
        GC.SuppressFinalize(this);
    }
}
