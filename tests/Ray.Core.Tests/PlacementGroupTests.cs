namespace Ray.Core.Tests;

public static class PgFns
{
    public static int Id(int x) => x;

    /// <summary>Counts how many run at once under <paramref name="key"/>; <see cref="Peak"/> is the most seen.</summary>
    public static int Concurrent(string key)
    {
        var box = s_now.GetOrAdd(key, _ => new System.Runtime.CompilerServices.StrongBox<int>());
        var now = Interlocked.Increment(ref box.Value);
        lock (s_peak) s_peak[key] = Math.Max(s_peak.GetValueOrDefault(key), now);
        Thread.Sleep(60);
        Interlocked.Decrement(ref box.Value);
        return 0;
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, System.Runtime.CompilerServices.StrongBox<int>> s_now = new();
    private static readonly Dictionary<string, int> s_peak = new();
    public static int Peak(string key) { lock (s_peak) return s_peak.GetValueOrDefault(key); }

    /// <summary>Blocks until released or its token is cancelled; says which.</summary>
    public static string WaitForCancel(string key)
    {
        Probe.Set(key + ":started");
        var token = RayContext.CancellationToken;
        if (token.WaitHandle.WaitOne(Util.Long)) { Probe.Set(key + ":cancelled"); return "cancelled"; }
        return "timed out";
    }

    /// <summary>Submits a default (1 CPU) child and waits for it: only runs where the child finds a CPU.</summary>
    public static int Parent(int x) => RayRuntime.Current.Task(Id).Remote(x).Get(TimeSpan.FromSeconds(5)) + 1;
}

public sealed class PgHolder
{
    public int Ping() => 1;
}

/// <summary>Placement groups on an embedded runtime (issue 13): reservation, placement, removal, names.</summary>
public sealed class PlacementGroupTests
{
    private static IReadOnlyDictionary<string, double> Cpu(double n) => new Dictionary<string, double> { ["CPU"] = n };

    [Fact]
    public async Task A_group_reserves_its_bundles_from_the_node_and_gives_them_back_when_removed()
    {
        await using var ray = Util.Start(cpus: 4);
        var pg = ray.PlacementGroup([Cpu(1), Cpu(2)]);
        await pg.Ready().WaitAsync(Util.Long);
        Assert.Equal(PlacementGroupState.Created, pg.State);
        Assert.True(pg.Wait(TimeSpan.Zero));
        Assert.Equal(1, ray.Cpu());
        Assert.Equal(2, pg.Bundles.Count);
        ray.RemovePlacementGroup(pg);
        Assert.Equal(PlacementGroupState.Removed, pg.State);
        Assert.Equal(4, ray.Cpu()); // nothing ran in it: all of it comes back at once
        ray.RemovePlacementGroup(pg); // again: nothing
        Assert.Equal(4, ray.Cpu());
    }

    [Fact]
    public async Task A_group_that_does_not_fit_now_is_pending_until_resources_free_up()
    {
        await using var ray = Util.Start(cpus: 2);
        var holder = ray.Actor<PgHolder>(new ActorOptions { NumCpus = 1 }).Remote();
        Assert.Equal(1, await holder.Task(h => h.Ping()).Remote());
        var pg = ray.PlacementGroup([Cpu(1), Cpu(1)]);
        Assert.Equal(PlacementGroupState.Pending, pg.State);
        Assert.False(pg.Wait(Util.Short));
        Assert.Equal(1, ray.Cpu()); // all or nothing: no bundle was taken alone
        ray.Kill(holder);
        Assert.True(pg.Wait(Util.Long));
        Assert.Equal(0, ray.Cpu());
    }

    [Fact]
    public async Task Tasks_in_a_bundle_hold_its_resources_not_the_nodes()
    {
        await using var ray = Util.Start(cpus: 2);
        var pg = ray.PlacementGroup([Cpu(1), Cpu(1)]);
        await pg.Ready().WaitAsync(Util.Long);
        // The node has no CPU left: a plain task waits, placed tasks run.
        var plain = ray.Task(PgFns.Id).Remote(1);
        var placed = ray.Task(PgFns.Id).Options(new TaskOptions { SchedulingStrategy = new PlacementGroupSchedulingStrategy(pg, 0) }).Remote(2);
        var anyBundle = ray.Task(PgFns.Id).Options(new TaskOptions { SchedulingStrategy = new PlacementGroupSchedulingStrategy(pg) }).Remote(3);
        Assert.Equal(2, await placed.GetAsync().WaitAsync(Util.Long));
        Assert.Equal(3, await anyBundle.GetAsync().WaitAsync(Util.Long));
        Assert.Empty(ray.Wait([plain], 1, Util.Short).Ready);
        ray.RemovePlacementGroup(pg);
        Assert.Equal(1, await plain.GetAsync().WaitAsync(Util.Long));
    }

    [Fact]
    public async Task A_bundle_runs_only_as_many_tasks_at_once_as_it_holds()
    {
        await using var ray = Util.Start(cpus: 4);
        var key = Util.Key();
        var pg = ray.PlacementGroup([Cpu(1), Cpu(2)]);
        var one = new TaskOptions { SchedulingStrategy = new PlacementGroupSchedulingStrategy(pg, 0) };
        var refs = Enumerable.Range(0, 4).Select(_ => ray.Task(PgFns.Concurrent).Options(one).Remote(key)).ToList();
        await ray.GetAsync(refs).WaitAsync(Util.Long);
        Assert.Equal(1, PgFns.Peak(key));
        var key2 = Util.Key();
        var any = new TaskOptions { SchedulingStrategy = new PlacementGroupSchedulingStrategy(pg) };
        refs = Enumerable.Range(0, 6).Select(_ => ray.Task(PgFns.Concurrent).Options(any).Remote(key2)).ToList();
        await ray.GetAsync(refs).WaitAsync(Util.Long);
        Assert.InRange(PgFns.Peak(key2), 2, 3); // the group's 3 CPUs at most, though the node has 4
    }

    [Fact]
    public async Task Requests_that_fit_no_bundle_or_name_no_bundle_are_refused_at_submission()
    {
        await using var ray = Util.Start(cpus: 4);
        var pg = ray.PlacementGroup([Cpu(1), Cpu(2)]);
        var two = new TaskOptions { NumCpus = 2, SchedulingStrategy = new PlacementGroupSchedulingStrategy(pg, 0) };
        var e = Assert.Throws<ResourcesUnsatisfiableException>(() => ray.Task(PgFns.Id).Options(two).Remote(1));
        Assert.Contains("bundle 0", e.Message);
        Assert.Equal(5, await ray.Task(PgFns.Id).Options(two with { SchedulingStrategy = new PlacementGroupSchedulingStrategy(pg, 1) }).Remote(5));
        Assert.Throws<ResourcesUnsatisfiableException>(() => ray.Task(PgFns.Id).Options(new TaskOptions { NumCpus = 3, SchedulingStrategy = new PlacementGroupSchedulingStrategy(pg) }).Remote(1));
        Assert.Throws<ArgumentOutOfRangeException>(() => ray.Task(PgFns.Id).Options(new TaskOptions { SchedulingStrategy = new PlacementGroupSchedulingStrategy(pg, 2) }).Remote(1));
        Assert.Throws<ResourcesUnsatisfiableException>(() => ray.Actor<PgHolder>(new ActorOptions { NumCpus = 2, SchedulingStrategy = new PlacementGroupSchedulingStrategy(pg, 0) }).Remote());
    }

    [Fact]
    public async Task Bad_groups_are_refused_when_made()
    {
        await using var ray = Util.Start(cpus: 2);
        Assert.Throws<ArgumentException>(() => ray.PlacementGroup([]));
        Assert.Throws<ArgumentException>(() => ray.PlacementGroup([new Dictionary<string, double>()]));
        Assert.Throws<ArgumentException>(() => ray.PlacementGroup([Cpu(-1)]));
        Assert.Throws<ArgumentException>(() => ray.PlacementGroup([Cpu(1.5)]));
        Assert.Throws<ArgumentException>(() => ray.PlacementGroup([Cpu(1)], name: " "));
        Assert.Throws<ResourcesUnsatisfiableException>(() => ray.PlacementGroup([Cpu(2), Cpu(1)]));
        Assert.Throws<ResourcesUnsatisfiableException>(() => ray.PlacementGroup([new Dictionary<string, double> { ["TPU"] = 1 }]));
        var spread = Assert.Throws<ResourcesUnsatisfiableException>(() => ray.PlacementGroup([Cpu(1), Cpu(1)], PlacementStrategy.StrictSpread));
        Assert.Contains("STRICT_SPREAD", spread.Message);
        ray.PlacementGroup([Cpu(1)], PlacementStrategy.StrictSpread).Wait(Util.Long); // one bundle fits one node
        Assert.Equal(1, ray.Cpu()); // nothing refused took anything
    }

    [Fact]
    public async Task Removal_fails_queued_and_running_tasks_kills_actors_and_refuses_new_work()
    {
        await using var ray = Util.Start(cpus: 4);
        var key = Util.Key();
        var pg = ray.PlacementGroup([Cpu(1), Cpu(1)]);
        var placed = new TaskOptions { SchedulingStrategy = new PlacementGroupSchedulingStrategy(pg, 0) };
        var running = ray.Task(PgFns.WaitForCancel).Options(placed).Remote(key);
        Assert.True(Probe.WaitStarted(key));
        var queued = ray.Task(PgFns.Id).Options(placed).Remote(1); // bundle 0 is busy
        var actor = ray.Actor<PgHolder>(new ActorOptions { NumCpus = 1, SchedulingStrategy = new PlacementGroupSchedulingStrategy(pg, 1) }).Remote();
        Assert.Equal(1, await actor.Task(h => h.Ping()).Remote());

        ray.RemovePlacementGroup(pg);

        Assert.Throws<PlacementGroupRemovedException>(() => queued.Get(Util.Long));
        Assert.Throws<PlacementGroupRemovedException>(() => running.Get(Util.Long));
        Assert.True(Probe.WaitFor(key + ":cancelled"), "the running task never saw its token cancelled");
        var died = await Assert.ThrowsAsync<ActorDiedException>(async () => await actor.Task(h => h.Ping()).Remote());
        Assert.IsType<PlacementGroupRemovedException>(died.InnerException);
        Assert.Throws<PlacementGroupRemovedException>(() => ray.Task(PgFns.Id).Options(placed).Remote(2));
        Assert.Throws<PlacementGroupRemovedException>(() => ray.Actor<PgHolder>(new ActorOptions { SchedulingStrategy = new PlacementGroupSchedulingStrategy(pg) }).Remote());
        Assert.True(Util.Eventually(() => ray.Cpu() == 4), $"CPU free: {ray.Cpu()}");
        Assert.Equal(pg.Id, Assert.IsType<PlacementGroupRemovedException>(Record.Exception(() => pg.Wait(TimeSpan.Zero))).PlacementGroupId);
    }

    [Fact]
    public async Task A_pending_group_removed_fails_its_ready_and_its_waiting_work()
    {
        await using var ray = Util.Start(cpus: 1);
        var holder = ray.Actor<PgHolder>(new ActorOptions { NumCpus = 1 }).Remote();
        Assert.Equal(1, await holder.Task(h => h.Ping()).Remote());
        var pg = ray.PlacementGroup([Cpu(1)]);
        var waiting = ray.Task(PgFns.Id).Options(new TaskOptions { SchedulingStrategy = new PlacementGroupSchedulingStrategy(pg) }).Remote(1);
        var ready = pg.Ready();
        ray.RemovePlacementGroup(pg);
        await Assert.ThrowsAsync<PlacementGroupRemovedException>(() => ready.WaitAsync(Util.Long));
        Assert.Throws<PlacementGroupRemovedException>(() => waiting.Get(Util.Long));
        ray.Kill(holder);
        Assert.True(Util.Eventually(() => ray.Cpu() == 1));
    }

    [Fact]
    public async Task Actors_in_a_bundle_wait_for_room_in_it()
    {
        await using var ray = Util.Start(cpus: 4);
        var pg = ray.PlacementGroup([Cpu(1)]);
        var inBundle = new ActorOptions { NumCpus = 1, SchedulingStrategy = new PlacementGroupSchedulingStrategy(pg, 0) };
        var first = ray.Actor<PgHolder>(inBundle).Remote();
        Assert.Equal(1, await first.Task(h => h.Ping()).Remote());
        var second = ray.Actor<PgHolder>(inBundle).Remote();
        var ping = second.Task(h => h.Ping()).Remote();
        Assert.Empty(ray.Wait([ping], 1, Util.Short).Ready); // the node has 3 CPUs free, the bundle none
        ray.Kill(first);
        Assert.Equal(1, await ping.GetAsync().WaitAsync(Util.Long));
    }

    [Fact]
    public async Task Named_groups_are_found_by_name_and_names_are_unique()
    {
        await using var ray = Util.Start(cpus: 2);
        var pg = ray.PlacementGroup([Cpu(1)], name: "trainers");
        Assert.Equal(pg.Id, ray.GetPlacementGroup("trainers").Id);
        Assert.Throws<ArgumentException>(() => ray.PlacementGroup([Cpu(1)], name: "trainers"));
        Assert.Null(ray.TryGetPlacementGroup("nobody"));
        Assert.Throws<KeyNotFoundException>(() => ray.GetPlacementGroup("nobody"));
        var info = Assert.Single(ray.PlacementGroupTable());
        Assert.Equal(("trainers", PlacementGroupState.Created, PlacementStrategy.Pack), (info.Name, info.State, info.Strategy));
        Assert.Equal(1, info.Bundles[0]["CPU"]);
        ray.RemovePlacementGroup(ray.GetPlacementGroup("trainers"));
        Assert.Empty(ray.PlacementGroupTable());
        var again = ray.PlacementGroup([Cpu(1)], name: "trainers"); // the name is free again
        Assert.True(again.Wait(Util.Long));
    }

    [Fact]
    public async Task Child_tasks_follow_a_parent_that_captures_them()
    {
        await using var ray = Util.Start(cpus: 2);
        var pg = ray.PlacementGroup([Cpu(2)]); // the node has no CPU left outside the group
        var capture = new TaskOptions { SchedulingStrategy = new PlacementGroupSchedulingStrategy(pg, CaptureChildTasks: true) };
        Assert.Equal(8, await ray.Task(PgFns.Parent).Options(capture).Remote(7).GetAsync().WaitAsync(Util.Long));
        // Without capture the child needs a node CPU, of which there is none: it times out.
        var plain = new TaskOptions { SchedulingStrategy = new PlacementGroupSchedulingStrategy(pg) };
        var e = await Assert.ThrowsAsync<RayTaskException>(() => ray.Task(PgFns.Parent).Options(plain).Remote(1).GetAsync().WaitAsync(Util.Long));
        Assert.IsType<GetTimeoutException>(e.InnerException);
    }

    [Fact]
    public async Task A_task_blocked_in_get_lends_its_bundle_to_its_children()
    {
        await using var ray = Util.Start(cpus: 1);
        var pg = ray.PlacementGroup([Cpu(1)]);
        var capture = new TaskOptions { SchedulingStrategy = new PlacementGroupSchedulingStrategy(pg, 0, CaptureChildTasks: true) };
        // One CPU, all of it in the bundle: the child runs only because its blocked parent lends it.
        Assert.Equal(4, await ray.Task(PgFns.Parent).Options(capture).Remote(3).GetAsync().WaitAsync(Util.Long));
        ray.RemovePlacementGroup(pg);
        Assert.True(Util.Eventually(() => ray.Cpu() == 1), $"CPU free: {ray.Cpu()}"); // the worker's lease goes back when it lets go
    }

    [Fact]
    public async Task Removed_groups_leave_no_scheduling_classes_behind()
    {
        await using var ray = Util.Start(cpus: 2);
        Assert.Equal(1, await ray.Task(PgFns.Id).Remote(1));
        var before = ray.Core.Scheduler.ClassCount;
        for (var i = 0; i < 20; i++)
        {
            var pg = ray.PlacementGroup([Cpu(1)]);
            var placed = new TaskOptions { SchedulingStrategy = new PlacementGroupSchedulingStrategy(pg) };
            Assert.Equal(i, await ray.Task(PgFns.Id).Options(placed).Remote(i));
            ray.RemovePlacementGroup(pg);
            Assert.Throws<PlacementGroupRemovedException>(() => ray.Task(PgFns.Id).Options(placed).Remote(i)); // the cached class still refuses
        }
        Assert.Equal(before, ray.Core.Scheduler.ClassCount);
        Assert.True(Util.Eventually(() => ray.Cpu() == 2), $"CPU free: {ray.Cpu()}");
        Assert.Equal(5, await ray.Task(PgFns.Id).Remote(5));
    }
}
