using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Text.Json;
using Ray.Tests.Shared;

namespace Ray.Perf;

/// <summary>
/// A raylet for the cluster cases: <c>ray start --head --port 0</c> in a fresh session directory;
/// on dispose <c>ray stop</c>, then SIGKILL for every process whose command line names the
/// session (the raylet and its workers), and the directory removed. Dispose runs on failure too
/// (the caller's <c>await using</c>), and on Ctrl-C / process exit through <see cref="StopAll"/>.
/// </summary>
public sealed class PerfCluster : IAsyncDisposable
{
    private static readonly List<PerfCluster> s_live = new();
    private int _disposed;

    private PerfCluster(string sessionDir) => SessionDir = sessionDir;

    public string SessionDir { get; }

    public int RayletPid { get; private set; }

    /// <summary>ray.dll: --ray-dll, else RAY_DLL, else the Raylet project's output built beside this one.</summary>
    public static string RayDll(string? overridePath) =>
        overridePath ?? Environment.GetEnvironmentVariable("RAY_DLL")
        ?? typeof(PerfCluster).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().First(a => a.Key == "RayDllPath").Value!;

    public static async Task<PerfCluster> StartAsync(string rayDll, int cpus, long storeBytes)
    {
        if (!File.Exists(rayDll)) throw new FileNotFoundException($"ray.dll not found at {rayDll}: build src/Raylet (dotnet build Runtime.sln -c Release) or pass --ray-dll", rayDll);
        var cluster = new PerfCluster(Path.Combine("/tmp", "ray-perf-" + Guid.NewGuid().ToString("N")[..10]));
        lock (s_live) s_live.Add(cluster);
        try
        {
            var (code, output) = await SessionProcesses.RunRayAsync(rayDll, ["start", "--head", "--port", "0", "--session-dir", cluster.SessionDir,
                "--num-cpus", cpus.ToString(CultureInfo.InvariantCulture), "--object-store-memory", storeBytes.ToString(CultureInfo.InvariantCulture)], TimeSpan.FromSeconds(90));
            var addressFile = Path.Combine(cluster.SessionDir, "raylet.json");
            if (code != 0 || !File.Exists(addressFile)) throw new InvalidOperationException($"ray start failed ({code}): {output}");
            using var doc = JsonDocument.Parse(File.ReadAllText(addressFile));
            foreach (var p in doc.RootElement.EnumerateObject())
                if (p.Name.Equals("pid", StringComparison.OrdinalIgnoreCase)) cluster.RayletPid = p.Value.GetInt32();
            cluster.RayDllPath = rayDll;
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    private string? RayDllPath { get; set; }

    /// <summary>Pids of this session's worker processes now (from /proc).</summary>
    public IReadOnlyList<int> WorkerPids() => SessionProcesses.Find(SessionDir, " worker ");

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        if (RayDllPath is not null)
        {
            try { await SessionProcesses.RunRayAsync(RayDllPath, ["stop", "--session-dir", SessionDir], TimeSpan.FromSeconds(30)); }
            catch (Exception e) { Console.Error.WriteLine($"ray stop failed: {e.Message}"); }
        }
        KillLeftovers();
        lock (s_live) s_live.Remove(this);
    }

    /// <summary>Last resort (Ctrl-C, unhandled exception): kill every process of every live session.</summary>
    public static void StopAll()
    {
        PerfCluster[] live;
        lock (s_live) live = s_live.ToArray();
        foreach (var c in live) c.KillLeftovers();
    }

    private void KillLeftovers()
    {
        var left = SessionProcesses.Find(SessionDir);
        if (RayletPid > 0 && !left.Contains(RayletPid)) left.Add(RayletPid);
        foreach (var pid in left) SessionProcesses.Kill(pid);
        try { Directory.Delete(SessionDir, recursive: true); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }


}
