namespace Ray.Cluster.Tests;

public static class CancelFns
{
    /// <summary>Records its process id, then runs for a long time (until its process is stopped).</summary>
    public static int Spin(string pidFile)
    {
        File.WriteAllText(pidFile, Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Thread.Sleep(TimeSpan.FromSeconds(120));
        return Environment.ProcessId;
    }
}

/// <summary>Cancelling tasks that run in worker processes.</summary>
[Collection("cluster")]
public sealed class ClusterCancelTests
{
    [Fact]
    public async Task Force_cancel_stops_the_worker_running_the_task_and_the_cluster_goes_on()
    {
        await using var cluster = await ClusterScope.StartAsync();
        await using var ray = cluster.Connect();
        var pidFile = Path.Combine(cluster.SessionDir, "spin.pid");
        var running = ray.Task(CancelFns.Spin).Remote(pidFile);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!File.Exists(pidFile) && DateTime.UtcNow < deadline) await Task.Delay(20);
        await Task.Delay(50); // the file is written; let its content land
        var pid = int.Parse(File.ReadAllText(pidFile), System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(ClusterScope.IsAlive(pid));

        Assert.True(ray.Cancel(running, force: true));
        await Assert.ThrowsAsync<TaskCancelledException>(async () => await running);
        Assert.True(await ClusterScope.WaitUntilAsync(() => !ClusterScope.IsAlive(pid), TimeSpan.FromSeconds(15)), $"worker {pid} still runs");
        Assert.False(ray.Cancel(running, force: true)); // finished (cancelled) already

        // The cluster goes on: new tasks run on other workers.
        Assert.Equal(5, await ray.Task(Fns.Add).Remote(2, 3));
    }

    [Fact]
    public async Task Force_is_refused_for_actor_calls()
    {
        await using var cluster = await ClusterScope.StartAsync();
        await using var ray = cluster.Connect();
        var counter = ray.Actor<Counter>().Remote(0L);
        var call = counter.Task((Counter c, string f, int ms) => c.SlowPid(f, ms)).Remote(Path.Combine(cluster.SessionDir, "slow.pid"), 500);
        Assert.Throws<ArgumentException>(() => ray.Cancel(call, force: true));
        Assert.NotEqual(0, await call);
    }
}
