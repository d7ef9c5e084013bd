using System.Diagnostics;

namespace Ray.Serve.Tests;

/// <summary>An embedded runtime with Serve on 127.0.0.1:0 and an HttpClient for it.</summary>
internal sealed class TestServe : IAsyncDisposable
{
    private TestServe(RayRuntime ray, ServeInstance serve)
    {
        Ray = ray;
        Serve = serve;
        Http = new HttpClient { BaseAddress = serve.HttpAddress, Timeout = TimeSpan.FromSeconds(30) };
    }

    public RayRuntime Ray { get; }
    public ServeInstance Serve { get; }
    public HttpClient Http { get; }

    public static async Task<TestServe> StartAsync(HttpOptions? http = null, RayRuntime? ray = null)
    {
        ray ??= RayRuntime.Start(new RuntimeOptions { NumCpus = 4 });
        // Not Serve.StartAsync: that would make it the static default, which one test owns.
        var serve = await ServeInstance.StartAsync(ray, new ServeOptions { Http = (http ?? new HttpOptions()) with { Port = 0 }, ControlLoopInterval = TimeSpan.FromMilliseconds(20) });
        return new TestServe(ray, serve);
    }

    public async Task<(int Status, string Body)> GetAsync(string path)
    {
        using var r = await Http.GetAsync(path);
        return ((int)r.StatusCode, await r.Content.ReadAsStringAsync());
    }

    public async Task<(int Status, string Body)> PostAsync(string path, string body)
    {
        using var r = await Http.PostAsync(path, new StringContent(body));
        return ((int)r.StatusCode, await r.Content.ReadAsStringAsync());
    }

    public static async Task<bool> WaitUntilAsync(Func<bool> condition, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < timeout)
        {
            if (condition()) return true;
            await Task.Delay(20);
        }
        return condition();
    }

    public DeploymentStatus Deployment(string app, string name) =>
        Serve.Status().Applications.Single(a => a.Name == app).Deployments.Single(d => d.Name == name);

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Serve.DisposeAsync();
        await Ray.DisposeAsync();
    }
}
