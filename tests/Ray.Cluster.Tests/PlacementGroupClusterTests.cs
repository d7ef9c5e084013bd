namespace Ray.Cluster.Tests;

public static class PgClusterFns
{
    public static int Pid(int _) => Environment.ProcessId;

    public static int Sleep(int ms) { Thread.Sleep(ms); return ms; }

    /// <summary>What RayContext says in the worker: job|node|namespace|actor|resources|placement group.</summary>
    public static string Context(int _)
    {
        var res = string.Join(",", RayContext.AssignedResources.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key}={kv.Value}"));
        return $"{RayContext.JobId}|{RayContext.NodeId}|{RayContext.Namespace}|{RayContext.ActorId}|{res}|{RayContext.PlacementGroupId}";
    }

    /// <summary>Submits a default (1 CPU) child from the worker and returns what it saw.</summary>
    public static string ChildContext(int _) => RayRuntime.Current.Task(Context).Remote(0).Get(TimeSpan.FromSeconds(30));
}

public sealed class PgActor
{
    public int Pid() => Environment.ProcessId;
    public string Context() => PgClusterFns.Context(0);
}

/// <summary>Placement groups in process mode: the raylet reserves bundles and places leases into them.</summary>
[Collection("cluster")]
public sealed class PlacementGroupClusterTests
{
    private static IReadOnlyDictionary<string, double> Cpu(double n) => new Dictionary<string, double> { ["CPU"] = n };
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task The_raylet_reserves_bundles_runs_placed_work_in_them_and_shows_them_in_status()
    {
        await using var cluster = await ClusterScope.StartAsync(cpus: 2);
        await using var ray = cluster.Connect();
        var pg = ray.PlacementGroup([Cpu(1), Cpu(1)], name: "pair");
        Assert.True(pg.Wait(Long));
        Assert.True(await ClusterScope.WaitUntilAsync(() => ray.AvailableResources["CPU"] == 0, Long));
        var placed = new TaskOptions { SchedulingStrategy = new PlacementGroupSchedulingStrategy(pg, 1) };
        var plain = ray.Task(PgClusterFns.Pid).Remote(0); // no CPU left outside the group: waits
        Assert.True(await ray.Task(PgClusterFns.Pid).Options(placed).Remote(0) > 0);
        var actor = ray.Actor<PgActor>(new ActorOptions { NumCpus = 1, SchedulingStrategy = new PlacementGroupSchedulingStrategy(pg, 0) }).Remote();
        Assert.True(await actor.Task(a => a.Pid()).Remote() > 0);
        Assert.Empty(ray.Wait([plain], 1, TimeSpan.FromMilliseconds(300)).Ready);

        var (code, output) = await ClusterScope.RunRayAsync(["status", "--session-dir", cluster.SessionDir]);
        Assert.Equal(0, code);
        Assert.Contains("Placement groups: 1", output);
        Assert.Contains("'pair' CREATED PACK", output);
        Assert.Contains("bundle 0: 1.0/1.0 CPU", output); // the actor holds bundle 0

        var row = Assert.Single(ray.PlacementGroupTable());
        Assert.Equal((pg.Id, "pair", PlacementGroupState.Created), (row.Id, row.Name, row.State));
        ray.RemovePlacementGroup(pg);
        Assert.True(await plain.GetAsync().WaitAsync(Long) > 0); // the node's CPUs are back
        var died = await Assert.ThrowsAsync<ActorDiedException>(async () => await actor.Task(a => a.Pid()).Remote().GetAsync().WaitAsync(Long));
        Assert.IsType<PlacementGroupRemovedException>(died.InnerException);
        Assert.Throws<PlacementGroupRemovedException>(() => ray.Task(PgClusterFns.Pid).Options(placed).Remote(0));
        Assert.True(await ClusterScope.WaitUntilAsync(() => ray.AvailableResources["CPU"] == 2, Long));
    }

    [Fact]
    public async Task Removal_stops_a_running_task_and_a_pending_group_becomes_created_when_resources_free()
    {
        await using var cluster = await ClusterScope.StartAsync(cpus: 1);
        await using var ray = cluster.Connect();
        var first = ray.PlacementGroup([Cpu(1)]);
        Assert.True(first.Wait(Long));
        var second = ray.PlacementGroup([Cpu(1)]);
        Assert.Equal(PlacementGroupState.Pending, second.State);
        Assert.False(second.Wait(TimeSpan.FromMilliseconds(300)));
        var running = ray.Task(PgClusterFns.Sleep).Options(new TaskOptions { SchedulingStrategy = new PlacementGroupSchedulingStrategy(first) }).Remote(60_000);
        var queuedInSecond = ray.Task(PgClusterFns.Pid).Options(new TaskOptions { SchedulingStrategy = new PlacementGroupSchedulingStrategy(second) }).Remote(0);
        Assert.True(await ClusterScope.WaitUntilAsync(() => cluster.WorkerPids().Count > 0, Long));
        await Task.Delay(500); // let it start in its worker

        ray.RemovePlacementGroup(first);

        await Assert.ThrowsAsync<PlacementGroupRemovedException>(() => running.GetAsync().WaitAsync(Long));
        await second.Ready().WaitAsync(Long); // created from what the first gave back
        Assert.True(await queuedInSecond.GetAsync().WaitAsync(Long) > 0);
    }

    [Fact]
    public async Task Groups_are_shared_by_name_across_drivers_detached_ones_outlive_their_job()
    {
        await using var cluster = await ClusterScope.StartAsync(cpus: 3);
        await using var other = cluster.Connect();
        var ray = cluster.Connect();
        ray.PlacementGroup([Cpu(1)], name: "kept", lifetime: PlacementGroupLifetime.Detached).Wait(Long);
        ray.PlacementGroup([Cpu(1)], name: "job-owned").Wait(Long);
        Assert.Throws<ArgumentException>(() => other.PlacementGroup([Cpu(1)], name: "kept")); // names are cluster-wide

        var found = other.GetPlacementGroup("job-owned");
        Assert.Equal(PlacementGroupState.Created, found.State);
        Assert.True(await other.Task(PgClusterFns.Pid).Options(new TaskOptions { SchedulingStrategy = new PlacementGroupSchedulingStrategy(found) }).Remote(0) > 0);

        await ray.DisposeAsync(); // its job ends: its own group goes, the detached one stays
        Assert.True(await ClusterScope.WaitUntilAsync(() => other.TryGetPlacementGroup("job-owned") is null, Long));
        var kept = other.GetPlacementGroup("kept");
        Assert.Equal(PlacementGroupLifetime.Detached, kept.Lifetime);
        Assert.True(kept.Wait(TimeSpan.Zero));
        Assert.True(await ClusterScope.WaitUntilAsync(() => other.AvailableResources["CPU"] == 2, Long));
        other.RemovePlacementGroup(kept);
        Assert.True(await ClusterScope.WaitUntilAsync(() => other.AvailableResources["CPU"] == 3, Long));
        Assert.Empty(other.PlacementGroupTable());
    }

    [Fact]
    public async Task Groups_the_node_can_never_hold_are_refused_and_requests_are_checked_against_bundles()
    {
        await using var cluster = await ClusterScope.StartAsync(cpus: 2);
        await using var ray = cluster.Connect();
        Assert.Throws<ResourcesUnsatisfiableException>(() => ray.PlacementGroup([Cpu(2), Cpu(1)]));
        Assert.Throws<ResourcesUnsatisfiableException>(() => ray.PlacementGroup([Cpu(1), Cpu(1)], PlacementStrategy.StrictSpread));
        Assert.Empty(ray.PlacementGroupTable());
        var pg = ray.PlacementGroup([Cpu(2)], PlacementStrategy.StrictPack);
        Assert.True(pg.Wait(Long));
        var e = Assert.Throws<ResourcesUnsatisfiableException>(() =>
            ray.Task(PgClusterFns.Pid).Options(new TaskOptions { NumCpus = 3, SchedulingStrategy = new PlacementGroupSchedulingStrategy(pg) }).Remote(0));
        Assert.Contains("does not fit", e.Message);
    }

    [Fact]
    public async Task RayContext_in_workers_and_child_tasks_captured_from_a_worker()
    {
        await using var cluster = await ClusterScope.StartAsync(cpus: 2);
        await using var ray = RayRuntime.Connect(cluster.SessionDir, new RuntimeOptions { Namespace = "ctxns" });
        Assert.NotEqual(0u, RayContext.JobId); // the driver's own thread: its job
        var task = (await ray.Task(PgClusterFns.Context).Remote(0)).Split('|');
        Assert.Equal(RayContext.JobId.ToString(), task[0]);
        Assert.Equal(RayContext.NodeId, task[1]);
        Assert.Equal("ctxns", task[2]);
        Assert.Equal("", task[3]);
        Assert.Equal("CPU=1", task[4]);

        var pg = ray.PlacementGroup([Cpu(2)]); // all the node's CPUs: a child finds one only inside the group
        Assert.True(pg.Wait(Long));
        var actor = ray.Actor<PgActor>(new ActorOptions { NumCpus = 1, SchedulingStrategy = new PlacementGroupSchedulingStrategy(pg) }).Remote();
        var inActor = (await actor.Task(a => a.Context()).Remote()).Split('|');
        Assert.Equal(actor.Id.ToString(), inActor[3]);
        Assert.Equal("CPU=1", inActor[4]);
        Assert.Equal(pg.Id.ToString(), inActor[5]);
        ray.Kill(actor);

        var capture = new TaskOptions { SchedulingStrategy = new PlacementGroupSchedulingStrategy(pg, CaptureChildTasks: true) };
        var child = (await ray.Task(PgClusterFns.ChildContext).Options(capture).Remote(0).GetAsync().WaitAsync(Long)).Split('|');
        Assert.Equal(pg.Id.ToString(), child[5]); // the child, submitted from the worker, went into the group
        Assert.Equal("ctxns", child[2]);
    }

    [Fact]
    public async Task A_group_is_found_by_name_among_more_than_a_table_reply_holds()
    {
        await using var cluster = await ClusterScope.StartAsync();
        await using var ray = cluster.Connect();
        var tiny = new[] { new Dictionary<string, double> { ["CPU"] = 0.001 } };
        var groups = Enumerable.Range(0, 1100).Select(_ => ray.PlacementGroup(tiny)).ToList(); // unnamed: pipelined
        var last = ray.PlacementGroup(tiny, name: "the-last-one");
        var found = ray.GetPlacementGroup("the-last-one");
        Assert.Equal(last.Id, found.Id);
        Assert.Null(ray.TryGetPlacementGroup("no-such-group"));
        foreach (var g in groups) ray.RemovePlacementGroup(g);
    }
}
