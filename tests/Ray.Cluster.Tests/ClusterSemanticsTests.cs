using System.Diagnostics;

namespace Ray.Cluster.Tests;

public static class SemanticsFns
{
    public static int Id(int x) => x;
    public static int Sleep(int ms) { Thread.Sleep(ms); return ms; }
    public static int Throw(int x) => throw new InvalidOperationException("boom " + x);
}

public sealed class Idle
{
    public int Ping() => 1;
}

/// <summary>Where we differed from Ray (issue 13's list), in process mode on a real raylet.</summary>
[Collection("cluster")]
public sealed class ClusterSemanticsTests
{
    [Fact]
    public async Task A_node_with_no_cpus_puts_gets_and_runs_zero_cpu_tasks()
    {
        await using var cluster = await ClusterScope.StartAsync(cpus: 0);
        await using var ray = cluster.Connect();
        Assert.Equal(7, ray.Put(7).Get(TimeSpan.FromSeconds(10)));
        Assert.Equal(3, await ray.Task(SemanticsFns.Id).Options(new TaskOptions { NumCpus = 0 }).Remote(3));
        Assert.Throws<ResourcesUnsatisfiableException>(() => ray.Task(SemanticsFns.Id).Remote(1));
        Assert.Empty(ray.Wait(Array.Empty<ObjectRef<int>>()).Ready);
    }

    [Fact]
    public async Task Get_of_a_list_fails_as_soon_as_a_later_task_fails_in_its_worker()
    {
        await using var cluster = await ClusterScope.StartAsync(cpus: 2);
        await using var ray = cluster.Connect();
        var slow = ray.Task(SemanticsFns.Sleep).Remote(15_000);
        var failing = ray.Task(SemanticsFns.Throw).Remote(2);
        var sw = Stopwatch.StartNew();
        var e = Assert.ThrowsAny<RayTaskException>(() => ray.Get([slow, failing], TimeSpan.FromSeconds(30)));
        Assert.Contains("boom 2", e.Message);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), $"took {sw.Elapsed}: waited for the earlier task first");
        ray.Cancel(slow, force: true);
    }

    [Fact]
    public async Task A_driver_with_many_actors_waiting_for_a_lease_shuts_down_quickly()
    {
        await using var cluster = await ClusterScope.StartAsync(cpus: 1);
        var ray = cluster.Connect();
        var actors = Enumerable.Range(0, 30).Select(_ => ray.Actor<Idle>(new ActorOptions { NumCpus = 1 }).Remote()).ToList();
        Assert.Equal(1, await actors[0].Task(a => a.Ping()).Remote());
        var sw = Stopwatch.StartNew();
        await ray.DisposeAsync();
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(3), $"shutdown took {sw.Elapsed}");
    }
}
