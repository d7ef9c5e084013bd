using System.Globalization;
using System.Reflection;
using Ray.Tests.Shared;

namespace Ray.Serve.Tests;

/// <summary>A raylet started with `ray start --head --port 0` in a fresh session directory; stopped (and every process of the session killed by pid) on dispose.</summary>
internal sealed class LocalCluster : IAsyncDisposable
{
    private LocalCluster(string dir) => SessionDir = dir;

    public string SessionDir { get; }

    private static string RayDll { get; } = typeof(LocalCluster).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().First(a => a.Key == "RayDllPath").Value!;

    public static async Task<LocalCluster> StartAsync(int cpus = 4)
    {
        var c = new LocalCluster(Path.Combine("/tmp", "rsv-" + Guid.NewGuid().ToString("N")[..10]));
        var (code, output) = await SessionProcesses.RunRayAsync(RayDll,
            ["start", "--head", "--port", "0", "--session-dir", c.SessionDir, "--num-cpus", cpus.ToString(CultureInfo.InvariantCulture), "--object-store-memory", (128 << 20).ToString(CultureInfo.InvariantCulture)],
            TimeSpan.FromSeconds(60));
        if (code != 0 || !File.Exists(Path.Combine(c.SessionDir, "raylet.json")))
        {
            await c.DisposeAsync();
            Assert.Fail($"ray start failed ({code}): {output}");
        }
        return c;
    }

    public RayRuntime Connect() => RayRuntime.Connect(SessionDir);

    public async ValueTask DisposeAsync()
    {
        try { await SessionProcesses.RunRayAsync(RayDll, ["stop", "--session-dir", SessionDir], TimeSpan.FromSeconds(30)); } catch (Exception) { }
        foreach (var pid in SessionProcesses.Find(SessionDir)) SessionProcesses.Kill(pid);
        try { Directory.Delete(SessionDir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
