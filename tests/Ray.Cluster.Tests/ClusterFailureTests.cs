using System.Collections.Concurrent;

namespace Ray.Cluster.Tests;

public static class Slow
{
    /// <summary>Records its pid in a file (so the test can kill it), then sleeps.</summary>
    public static int SleepAndReport(string pidFile, int ms)
    {
        File.AppendAllText(pidFile, Environment.ProcessId + "\n");
        Thread.Sleep(ms);
        return Environment.ProcessId;
    }
}

[Collection("cluster")]
public sealed class ClusterFailureTests
{
    private static async Task<int> WaitForPidAsync(string file)
    {
        var pid = 0;
        Assert.True(await ClusterScope.WaitUntilAsync(() => File.Exists(file) && int.TryParse(File.ReadAllLines(file).FirstOrDefault(), out pid), TimeSpan.FromSeconds(20)));
        return pid;
    }

    [Fact]
    public async Task A_task_whose_worker_is_killed_is_retried_on_another_worker()
    {
        await using var cluster = await ClusterScope.StartAsync();
        await using var ray = cluster.Connect();
        var file = Path.Combine(cluster.SessionDir, "pids-retry");
        var r = ray.Task(Slow.SleepAndReport).Options(new TaskOptions { MaxRetries = 2 }).Remote(file, 1500);
        var first = await WaitForPidAsync(file);
        ClusterScope.Kill(first);
        var finalPid = r.Get(TimeSpan.FromSeconds(30));
        Assert.NotEqual(first, finalPid);
        Assert.Equal(1, ray.Stats.TasksRetried);
    }

    [Fact]
    public async Task Without_retries_a_killed_worker_fails_the_task_with_WorkerDied()
    {
        await using var cluster = await ClusterScope.StartAsync();
        await using var ray = cluster.Connect();
        var file = Path.Combine(cluster.SessionDir, "pids-noretry");
        var r = ray.Task(Slow.SleepAndReport).Options(new TaskOptions { MaxRetries = 0 }).Remote(file, 5000);
        ClusterScope.Kill(await WaitForPidAsync(file));
        var e = Assert.Throws<WorkerDiedException>(() => r.Get(TimeSpan.FromSeconds(30)));
        Assert.Equal(RayErrorCode.WorkerDied, e.Code);
        // The runtime goes on: new tasks get a new worker.
        Assert.Equal(3, await ray.Task(Fns.Add).Remote(1, 2));
    }

    [Fact]
    public async Task A_driver_that_disconnects_releases_its_workers()
    {
        await using var cluster = await ClusterScope.StartAsync();
        var ray = cluster.Connect();
        Assert.Equal(3, await ray.Task(Fns.Add).Remote(1, 2));
        var workers = cluster.WorkerPids();
        Assert.NotEmpty(workers);
        ray.Shutdown();
        Assert.True(await ClusterScope.WaitUntilAsync(() => workers.All(p => !ClusterScope.IsAlive(p)), TimeSpan.FromSeconds(20)),
            "the job's workers outlived its driver");
        // A new driver gets fresh workers.
        await using var again = cluster.Connect();
        Assert.Equal(7, await again.Task(Fns.Add).Remote(3, 4));
    }

    [Fact]
    public async Task A_wrong_token_is_refused()
    {
        await using var cluster = await ClusterScope.StartAsync();
        Environment.SetEnvironmentVariable("RAY_CLUSTER_TOKEN", "not-the-token");
        try
        {
            var e = Assert.Throws<RayClusterException>(() => RayRuntime.Connect(cluster.Address));
            Assert.Contains("token", e.Message);
        }
        finally { Environment.SetEnvironmentVariable("RAY_CLUSTER_TOKEN", null); }
    }

    [Fact]
    public async Task Infeasible_resources_fail_at_submission()
    {
        await using var cluster = await ClusterScope.StartAsync();
        await using var ray = cluster.Connect();
        Assert.Equal(2.0, ray.ClusterResources["CPU"]);
        Assert.Throws<ResourcesUnsatisfiableException>(() => ray.Task(Fns.Add).Options(new TaskOptions { NumCpus = 64 }).Remote(1, 2));
    }

    [Fact]
    public async Task Connect_by_host_and_port_with_an_explicit_token()
    {
        await using var cluster = await ClusterScope.StartAsync();
        await using var ray = RayRuntime.Connect(cluster.Address, token: cluster.Token);
        Assert.Equal(3, await ray.Task(Fns.Add).Remote(1, 2));
    }

    [Fact]
    public void Connect_to_nothing_fails_with_a_cluster_error()
    {
        var e = Assert.Throws<RayClusterException>(() => RayRuntime.Connect("127.0.0.1:1", token: "x"));
        Assert.Contains("cannot connect", e.Message);
        Assert.Throws<RayClusterException>(() => RayRuntime.Connect("/nonexistent-session-dir/raylet.json"));
        Assert.Throws<RayClusterException>(() => RayRuntime.Connect("not an address", token: "x"));
    }

    private static async Task<int> StoreObjectsAsync(ClusterScope cluster)
    {
        var (code, output) = await ClusterScope.RunRayAsync(["status", "--session-dir", cluster.SessionDir]);
        Assert.True(code == 0, output);
        var line = output.Split('\n').First(l => l.TrimStart().StartsWith("Objects: ", StringComparison.Ordinal));
        return int.Parse(line.Trim()["Objects: ".Length..].Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task A_driver_that_exits_has_its_objects_in_the_node_store_freed()
    {
        await using var cluster = await ClusterScope.StartAsync();
        var ray = cluster.Connect();
        var kept = ray.Put(new double[1 << 17]); // 1 MiB: in the node's store
        var made = ray.Task(Fns.Scale).Remote(new double[1 << 17], 2.0);
        Assert.Equal(1 << 17, (await made).Length);
        Assert.True(await StoreObjectsAsync(cluster) >= 2);
        GC.KeepAlive(kept);
        ray.Shutdown(); // as if the driver exited without freeing them
        Assert.True(await ClusterScope.WaitUntilAsync(() => StoreObjectsAsync(cluster).GetAwaiter().GetResult() == 0, TimeSpan.FromSeconds(20)),
            "the job's objects stayed in the node's store after its driver left");
    }
}
