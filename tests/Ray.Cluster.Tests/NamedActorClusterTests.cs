namespace Ray.Cluster.Tests;

public sealed class NamedCounter
{
    private int _n;
    public int Add(int x) => _n += x;
    public int Pid() => Environment.ProcessId;
}

public static class NamedActorFns
{
    /// <summary>From a worker process: finds the named actor in the given namespace and calls it.</summary>
    public static string NamespaceHere(int _) => RayRuntime.Current.Namespace;

    public static int CallNamedHere(int x) => CallNamed(RayRuntime.Current.Namespace, x);

    public static int CallNamed(string ns, int x) => RayRuntime.Current.GetActor<NamedCounter>("counter", ns).Task((NamedCounter c, int v) => c.Add(v)).Remote(x).Get(TimeSpan.FromSeconds(20));
}

/// <summary>Named actors are cluster-wide per namespace: the raylet's name table (issue 13).</summary>
[Collection("cluster")]
public sealed class NamedActorClusterTests
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task A_named_actor_is_found_by_other_drivers_of_its_namespace_only()
    {
        await using var cluster = await ClusterScope.StartAsync(cpus: 2);
        await using var owner = RayRuntime.Connect(cluster.SessionDir, new RuntimeOptions { Namespace = "prod" });
        await using var peer = RayRuntime.Connect(cluster.SessionDir, new RuntimeOptions { Namespace = "prod" });
        await using var stranger = cluster.Connect(); // an anonymous namespace
        var counter = owner.Actor<NamedCounter>(new ActorOptions { Name = "counter" }).Remote();
        Assert.Equal(1, await counter.Task(c => c.Add(1)).Remote());

        var found = peer.GetActor<NamedCounter>("counter");
        Assert.Equal(counter.Id, found.Id);
        Assert.Equal(3, await found.Task(c => c.Add(2)).Remote()); // the same actor, the same state
        Assert.Null(stranger.TryGetActor<NamedCounter>("counter"));
        Assert.Equal(counter.Id, stranger.GetActor<NamedCounter>("counter", "prod").Id);
        Assert.Throws<ActorNotFoundException>(() => peer.GetActor<PgActor>("counter")); // another type
        Assert.Throws<ArgumentException>(() => peer.Actor<NamedCounter>(new ActorOptions { Name = "counter" }).Remote()); // taken cluster-wide

        // From a task in a worker process (a nested driver), with the namespace given, and in the job's namespace by default.
        Assert.Equal(6, await owner.Task(NamedActorFns.CallNamed).Remote("prod", 3));
        Assert.Equal("prod", await owner.Task(NamedActorFns.NamespaceHere).Remote(0));
        Assert.Equal(10, await owner.Task(NamedActorFns.CallNamedHere).Remote(4));

        owner.Kill(counter); // the name is free again
        Assert.True(await ClusterScope.WaitUntilAsync(() => peer.TryGetActor<NamedCounter>("counter") is null, Long));
        var second = peer.Actor<NamedCounter>(new ActorOptions { Name = "counter" }).Remote();
        Assert.Equal(5, await second.Task(c => c.Add(5)).Remote());
    }

    [Fact]
    public async Task GetIfExists_across_drivers_makes_one_actor_and_a_drivers_names_go_with_it()
    {
        await using var cluster = await ClusterScope.StartAsync(cpus: 2);
        await using var a = RayRuntime.Connect(cluster.SessionDir, new RuntimeOptions { Namespace = "ns" });
        var b = RayRuntime.Connect(cluster.SessionDir, new RuntimeOptions { Namespace = "ns" });
        var options = new ActorOptions { Name = "counter", GetIfExists = true };
        var handles = new ActorHandle<NamedCounter>[8];
        Parallel.For(0, handles.Length, i => handles[i] = (i % 2 == 0 ? a : b).Actor<NamedCounter>(options).Remote());
        Assert.Single(handles.Select(h => h.Id).Distinct());
        var total = 0;
        foreach (var h in handles) total = await h.Task(c => c.Add(1)).Remote().GetAsync().WaitAsync(Long);
        Assert.Equal(handles.Length, total);

        // The driver that made it ends: its job's names go with it (the actor too); the other's lookup finds nothing then.
        var madeByB = handles[0].Id.Owner != a.Actor<NamedCounter>().Remote().Id.Owner;
        await b.DisposeAsync();
        if (madeByB) Assert.True(await ClusterScope.WaitUntilAsync(() => a.TryGetActor<NamedCounter>("counter") is null, Long));
        else Assert.Equal(handles[0].Id, a.GetActor<NamedCounter>("counter").Id);
    }
}

/// <summary>Ray's kill(actor, no_restart=False): the worker dies as in a crash, the actor restarts if it may.</summary>
[Collection("cluster")]
public sealed class KillRestartClusterTests
{
    [Fact]
    public async Task Kill_without_no_restart_restarts_a_restartable_actor_and_ends_one_without_restarts()
    {
        await using var cluster = await ClusterScope.StartAsync(cpus: 2);
        await using var ray = cluster.Connect();
        var counter = ray.Actor<Counter>(new ActorOptions { MaxRestarts = 1 }).Remote(100L);
        Assert.Equal(101L, await counter.Task((Counter c, long x) => c.Add(x)).Remote(1L));
        var pid = await counter.Task((Counter c) => c.Pid()).Remote();

        ray.Kill(counter, noRestart: false);

        Assert.True(await ClusterScope.WaitUntilAsync(() => !ClusterScope.IsAlive(pid), TimeSpan.FromSeconds(15)));
        long after = 0;
        Assert.True(await ClusterScope.WaitUntilAsync(() =>
        {
            try { after = counter.Task((Counter c, long x) => c.Add(x)).Remote(5L).Get(TimeSpan.FromSeconds(20)); return true; }
            catch (ActorDiedException) { return false; } // a call that raced the death
        }, TimeSpan.FromSeconds(30)));
        Assert.Equal(105L, after); // made again with its constructor arguments
        Assert.True(counter.IsAlive);

        ray.Kill(counter, noRestart: false); // no restarts left: it dies
        Assert.True(await ClusterScope.WaitUntilAsync(() => !counter.IsAlive, TimeSpan.FromSeconds(15)));
        await Assert.ThrowsAsync<ActorDiedException>(async () => await counter.Task((Counter c) => c.Value()).Remote());
    }
}

/// <summary>A detached actor that keeps an object of its own in the node's store.</summary>
public sealed class Hoarder
{
    private ObjectRef<long[]>? _kept;
    public int Keep(int n) { _kept = RayRuntime.Current.Put(Enumerable.Range(0, n).Select(i => (long)i).ToArray()); return n; }
    public long Sum() => _kept!.Get(TimeSpan.FromSeconds(20)).Sum();
}

/// <summary>Detached actors outlive their driver and end only when killed, from any driver.</summary>
[Collection("cluster")]
public sealed class DetachedActorClusterTests
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task A_detached_actor_outlives_its_driver_and_any_driver_can_end_it()
    {
        await using var cluster = await ClusterScope.StartAsync(cpus: 2);
        var maker = RayRuntime.Connect(cluster.SessionDir, new RuntimeOptions { Namespace = "svc" });
        var keeper = maker.Actor<NamedCounter>(new ActorOptions { Name = "keeper", Lifetime = ActorLifetime.Detached, NumCpus = 1 }).Remote();
        Assert.Equal(7, await keeper.Task((NamedCounter c, int x) => c.Add(x)).Remote(7));
        var pid = await keeper.Task((NamedCounter c) => c.Pid()).Remote();
        var owned = maker.Actor<NamedCounter>(new ActorOptions { Name = "owned" }).Remote();
        var ownedPid = await owned.Task((NamedCounter c) => c.Pid()).Remote();
        await maker.DisposeAsync(); // its job ends: the owned actor goes, the detached one stays

        Assert.True(await ClusterScope.WaitUntilAsync(() => !ClusterScope.IsAlive(ownedPid), Long), "the owned actor's worker outlived its driver");
        Assert.True(ClusterScope.IsAlive(pid));
        await using var user = RayRuntime.Connect(cluster.SessionDir, new RuntimeOptions { Namespace = "svc" });
        Assert.Null(user.TryGetActor<NamedCounter>("owned"));
        var found = user.GetActor<NamedCounter>("keeper");
        Assert.Equal(10, await found.Task((NamedCounter c, int x) => c.Add(x)).Remote(3)); // its state lived on
        Assert.Equal(1, user.AvailableResources["CPU"]); // it still holds its CPU

        user.Kill(found); // any driver may end a detached actor
        Assert.True(await ClusterScope.WaitUntilAsync(() => !ClusterScope.IsAlive(pid), Long), "the detached actor's worker was not killed");
        Assert.True(await ClusterScope.WaitUntilAsync(() => user.TryGetActor<NamedCounter>("keeper") is null, Long));
        Assert.True(await ClusterScope.WaitUntilAsync(() => user.AvailableResources["CPU"] == 2, Long));
    }

    [Fact]
    public async Task A_detached_named_actor_keeps_its_name_across_a_restart_while_its_driver_lives()
    {
        await using var cluster = await ClusterScope.StartAsync(cpus: 2);
        await using var maker = RayRuntime.Connect(cluster.SessionDir, new RuntimeOptions { Namespace = "svc" });
        await using var other = RayRuntime.Connect(cluster.SessionDir, new RuntimeOptions { Namespace = "svc" });
        var keeper = maker.Actor<NamedCounter>(new ActorOptions { Name = "phoenix", Lifetime = ActorLifetime.Detached, MaxRestarts = 1 }).Remote();
        var pid = await keeper.Task((NamedCounter c) => c.Pid()).Remote();
        maker.Kill(keeper, noRestart: false);
        Assert.True(await ClusterScope.WaitUntilAsync(() => !ClusterScope.IsAlive(pid), Long));
        // The restarted actor is found by name again (the claim survived its worker), and the name is still taken.
        var found = other.GetActor<NamedCounter>("phoenix");
        Assert.NotEqual(pid, await found.Task((NamedCounter c) => c.Pid()).Remote());
        Assert.Throws<ArgumentException>(() => other.Actor<NamedCounter>(new ActorOptions { Name = "phoenix" }).Remote());
    }

    [Fact]
    public async Task A_detached_actors_own_objects_outlive_its_creators_job_and_go_with_the_actor()
    {
        await using var cluster = await ClusterScope.StartAsync(cpus: 2);
        var maker = RayRuntime.Connect(cluster.SessionDir, new RuntimeOptions { Namespace = "hoard" });
        var hoarder = maker.Actor<Hoarder>(new ActorOptions { Name = "hoarder", Lifetime = ActorLifetime.Detached }).Remote();
        Assert.Equal(200_000, await hoarder.Task((Hoarder h, int n) => h.Keep(n)).Remote(200_000)); // 1.6 MB: the node's store
        await maker.DisposeAsync(); // the creator's job ends; the actor's own object must stay

        await using var user = RayRuntime.Connect(cluster.SessionDir, new RuntimeOptions { Namespace = "hoard" });
        var found = user.GetActor<Hoarder>("hoarder");
        Assert.Equal(19_999_900_000L, await found.Task(h => h.Sum()).Remote());
        Assert.True(user.Stats.SharedMemoryObjects >= 1);
        user.Kill(found); // the actor goes: so does what it owned
        Assert.True(await ClusterScope.WaitUntilAsync(() => user.Stats.SharedMemoryObjects == 0, Long), user.Stats.ToString());
    }
}
