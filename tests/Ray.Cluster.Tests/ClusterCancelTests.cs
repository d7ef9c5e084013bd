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

    /// <summary>Waits for its cancellation token (up to 60 s); writes <paramref name="marker"/> when it fires.</summary>
    public static int WaitForToken(string marker)
    {
        File.WriteAllText(marker + ".started", "");
        if (RayContext.CancellationToken.WaitHandle.WaitOne(TimeSpan.FromSeconds(60))) File.WriteAllText(marker, "cancelled");
        return 1;
    }

    public static int Noop(int x) => x;

    /// <summary>Sleeps a little, then leaves a marker (it ran).</summary>
    public static int SleepThenMark(string marker, int ms)
    {
        Thread.Sleep(ms);
        File.WriteAllText(marker, "ran");
        return ms;
    }

    /// <summary>Submits <see cref="WaitForToken"/> as a child (a nested task) and waits for it.</summary>
    public static int Parent(string marker)
    {
        var child = RayRuntime.Current.Task(WaitForToken).Options(new TaskOptions { NumCpus = 0 }).Remote(marker);
        try { return child.Get(TimeSpan.FromSeconds(60)); }
        catch (TaskCancelledException) { return -1; }
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
    public async Task A_running_task_in_a_worker_sees_its_token_and_its_children_are_cancelled_with_it()
    {
        await using var cluster = await ClusterScope.StartAsync(cpus: 2);
        await using var ray = cluster.Connect();
        var marker = Path.Combine(cluster.SessionDir, "direct");
        var running = ray.Task(CancelFns.WaitForToken).Remote(marker);
        Assert.True(await ClusterScope.WaitUntilAsync(() => File.Exists(marker + ".started"), TimeSpan.FromSeconds(30)));
        Assert.True(ray.Cancel(running));
        await Assert.ThrowsAsync<TaskCancelledException>(async () => await running);
        Assert.True(await ClusterScope.WaitUntilAsync(() => File.Exists(marker), TimeSpan.FromSeconds(15)), "the task in the worker never saw its token");

        // Recursive (the default): the parent's child, submitted from the worker, sees its token too.
        var childMarker = Path.Combine(cluster.SessionDir, "child");
        var parent = ray.Task(CancelFns.Parent).Remote(childMarker);
        Assert.True(await ClusterScope.WaitUntilAsync(() => File.Exists(childMarker + ".started"), TimeSpan.FromSeconds(30)));
        Assert.True(ray.Cancel(parent));
        await Assert.ThrowsAsync<TaskCancelledException>(async () => await parent);
        Assert.True(await ClusterScope.WaitUntilAsync(() => File.Exists(childMarker), TimeSpan.FromSeconds(15)), "the child task was not cancelled with its parent");
        Assert.Equal(5, await ray.Task(Fns.Add).Remote(2, 3)); // the workers are free again
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

    [Fact]
    public async Task A_task_cancelled_while_it_waits_behind_another_in_its_worker_never_runs()
    {
        await using var cluster = await ClusterScope.StartAsync(cpus: 1);
        await using var ray = cluster.Connect();
        var dir = cluster.SessionDir;
        // Short tasks first: the driver then pipelines tasks to its worker (several in flight).
        await Task.WhenAll(Enumerable.Range(0, 200).Select(i => ray.Task(CancelFns.Noop).Options(new TaskOptions { NumCpus = 1 }).Remote(i).AsTask()));
        var first = ray.Task(CancelFns.SleepThenMark).Options(new TaskOptions { NumCpus = 1 }).Remote(Path.Combine(dir, "first"), 1500);
        var queued = Enumerable.Range(0, 4).Select(i => ray.Task(CancelFns.SleepThenMark).Options(new TaskOptions { NumCpus = 1 }).Remote(Path.Combine(dir, "q" + i), 10)).ToList();
        await Task.Delay(300); // pushed to the worker, behind the first (one CPU, one worker)
        foreach (var q in queued) ray.Cancel(q);
        Assert.Equal(1500, await first);
        foreach (var q in queued) await Assert.ThrowsAsync<TaskCancelledException>(async () => await q);
        await Task.Delay(300);
        for (var i = 0; i < 4; i++) Assert.False(File.Exists(Path.Combine(dir, "q" + i)), $"queued task {i} ran after its cancel");
    }
}
