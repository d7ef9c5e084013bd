using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Text.Json;
using Ray.Tests.Shared;

[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]

namespace Ray.Cluster.Tests;

/// <summary>
/// One test's cluster: a raylet started with `ray start --head --port 0` in a fresh session
/// directory, and on dispose `ray stop`, then SIGKILL for every process (raylet and workers)
/// whose command line names the session, and the directory removed.
/// </summary>
internal sealed class ClusterScope : IAsyncDisposable
{
    public ClusterScope()
    {
        SessionDir = Path.Combine("/tmp", "rcl-" + Guid.NewGuid().ToString("N")[..10]);
    }

    public string SessionDir { get; }
    public string AddressFile => Path.Combine(SessionDir, "raylet.json");
    public int RayletPid { get; private set; }
    public string Address { get; private set; } = "";
    public string Token { get; private set; } = "";

    public static string RayDll { get; } = typeof(ClusterScope).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .First(a => a.Key == "RayDllPath").Value!;

    public static Task<ClusterScope> StartAsync(int cpus = 2, string? extra = null, Action<string>? beforeStart = null) =>
        StartAsync(["--head"], cpus, extra, beforeStart);

    /// <summary>A second node: a raylet that joins <paramref name="head"/>'s cluster (`ray start --address HEAD-SESSION`).</summary>
    public static Task<ClusterScope> JoinAsync(ClusterScope head, int cpus = 1, string? extra = null) =>
        StartAsync(["--address", head.SessionDir], cpus, extra, null);

    private static async Task<ClusterScope> StartAsync(string[] role, int cpus, string? extra, Action<string>? beforeStart)
    {
        var scope = new ClusterScope();
        beforeStart?.Invoke(scope.SessionDir); // e.g. a small disk mounted where the session's spill directory goes
        var args = new List<string> { "start", "--port", "0", "--session-dir", scope.SessionDir, "--num-cpus", cpus.ToString(CultureInfo.InvariantCulture), "--object-store-memory", (256 << 20).ToString(CultureInfo.InvariantCulture) };
        args.InsertRange(1, role);
        if (extra is not null) args.AddRange(extra.Split(' '));
        var (code, output) = await RunRayAsync(args);
        if (code != 0 || !File.Exists(scope.AddressFile))
        {
            await scope.DisposeAsync();
            Assert.Fail($"ray start failed ({code}): {output}");
        }
        using var doc = JsonDocument.Parse(File.ReadAllText(scope.AddressFile));
        foreach (var p in doc.RootElement.EnumerateObject())
        {
            if (p.NameEquals("pid") || p.NameEquals("Pid")) scope.RayletPid = p.Value.GetInt32();
            if (p.NameEquals("address") || p.NameEquals("Address")) scope.Address = p.Value.GetString()!;
            if (p.NameEquals("token") || p.NameEquals("Token")) scope.Token = p.Value.GetString()!;
        }
        return scope;
    }

    public RayRuntime Connect() => RayRuntime.Connect(SessionDir);

    public string Log() => File.Exists(Path.Combine(SessionDir, "logs", "raylet.out")) ? File.ReadAllText(Path.Combine(SessionDir, "logs", "raylet.out")) : "(no log)";

    public static void Kill(int pid) => SessionProcesses.Kill(pid);

    public static Task<(int Code, string Output)> RunRayAsync(IEnumerable<string> args) => SessionProcesses.RunRayAsync(RayDll, args, TimeSpan.FromSeconds(60));

    /// <summary>Worker processes of this session now (pids), from /proc.</summary>
    public IReadOnlyList<int> WorkerPids() => SessionProcesses.Find(SessionDir, " worker ");

    public static bool IsAlive(int pid) => Ray.Raylet.Session.RayletProcess.IsAlive(pid);

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

    public async ValueTask DisposeAsync()
    {
        try { await RunRayAsync(["stop", "--session-dir", SessionDir]); } catch (Exception) { }
        foreach (var pid in SessionProcesses.Find(SessionDir)) SessionProcesses.Kill(pid);
        if (RayletPid > 0) SessionProcesses.Kill(RayletPid);
        try { Directory.Delete(SessionDir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
