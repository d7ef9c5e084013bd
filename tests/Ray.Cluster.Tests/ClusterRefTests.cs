namespace Ray.Cluster.Tests;

public static class RefFns
{
    public static long SumOf(ObjectRef<long[]> r) => r.Get(TimeSpan.FromSeconds(30)).Sum();
    public static long[] Slow(int n) { Thread.Sleep(300); return Enumerable.Range(0, n).Select(i => (long)i).ToArray(); }
    public static long[] Broken(int n) => throw new InvalidOperationException("no array for " + n);

    public static string Describe(ObjectRef<long[]> r)
    {
        try { return "value " + r.Get(TimeSpan.FromSeconds(30)).Length; }
        catch (RayTaskException e) { return "failed: " + e.Message; }
    }

    /// <summary>A ref made in the worker (a put, or a nested task's result) goes back to the caller.</summary>
    public static ObjectRef<string> MakeRef(string s) => RayRuntime.Current.Put(s + "!");
    public static ObjectRef<long[]> NestedRef(int n) => RayRuntime.Current.Task(Slow).Remote(n);

    /// <summary>A ref received by a worker task, passed on to a nested task.</summary>
    public static long PassOn(ObjectRef<long[]> r) => RayRuntime.Current.Task(SumOf).Remote(r).Get(TimeSpan.FromSeconds(60));

    public static int Pid(ObjectRef<long[]> r) => Environment.ProcessId;
}

public sealed class RefHolderActor
{
    private ObjectRef<long[]>? _kept;
    public long Keep(ObjectRef<long[]> r) { _kept = r; return r.Get(TimeSpan.FromSeconds(30)).Length; }
    public long KeptSum() => _kept!.Get(TimeSpan.FromSeconds(30)).Sum();
}

/// <summary>ObjectRefs passed to and returned from worker processes (they travel with their values).</summary>
[Collection("cluster")]
public sealed class ClusterRefTests
{
    [Fact]
    public async Task A_ref_passed_to_a_task_is_read_in_the_worker_small_and_large()
    {
        await using var cluster = await ClusterScope.StartAsync();
        await using var ray = cluster.Connect();
        var small = ray.Put(new long[] { 1, 2, 3 });
        Assert.Equal(6, await ray.Task(RefFns.SumOf).Remote(small));
        var big = ray.Put(Enumerable.Range(0, 100_000).Select(i => (long)i).ToArray()); // 800 KB: the node's store
        Assert.Equal(4_999_950_000L, await ray.Task(RefFns.SumOf).Remote(big));
        Assert.NotEqual(Environment.ProcessId, await ray.Task(RefFns.Pid).Remote(big));
        // The caller's ref is untouched.
        Assert.Equal(6, small.Get().Sum());
    }

    [Fact]
    public async Task A_pending_ref_is_passed_once_ready_and_a_failed_one_fails_inside_the_task()
    {
        await using var cluster = await ClusterScope.StartAsync();
        await using var ray = cluster.Connect();
        var pending = ray.Task(RefFns.Slow).Remote(10);
        Assert.Equal(45, await ray.Task(RefFns.SumOf).Remote(pending));
        var broken = ray.Task(RefFns.Broken).Remote(7);
        var described = await ray.Task(RefFns.Describe).Remote(broken); // the task runs: it gets the failed ref
        Assert.StartsWith("failed: ", described);
        Assert.Contains("no array for 7", described);
    }

    [Fact]
    public async Task Refs_made_in_a_worker_come_back_to_the_driver_and_pass_on_to_nested_tasks()
    {
        await using var cluster = await ClusterScope.StartAsync();
        await using var ray = cluster.Connect();
        var outer = await ray.Task(RefFns.MakeRef).Remote("hi");
        Assert.Equal("hi!", outer.Get(TimeSpan.FromSeconds(30)));
        var nested = await ray.Task(RefFns.NestedRef).Remote(5);
        Assert.Equal(new long[] { 0, 1, 2, 3, 4 }, nested.Get(TimeSpan.FromSeconds(30)));
        var r = ray.Put(new long[] { 5, 6 });
        Assert.Equal(11, await ray.Task(RefFns.PassOn).Remote(r));
    }

    [Fact]
    public async Task An_actor_keeps_a_ref_it_was_given()
    {
        await using var cluster = await ClusterScope.StartAsync();
        await using var ray = cluster.Connect();
        var actor = ray.Actor<RefHolderActor>().Remote();
        var r = ray.Task(RefFns.Slow).Remote(4);
        Assert.Equal(4, await actor.Task((RefHolderActor a, ObjectRef<long[]> x) => a.Keep(x)).Remote(r));
        r.Dispose(); // the actor's copy lives on in its process
        Assert.Equal(6, await actor.Task((RefHolderActor a) => a.KeptSum()).Remote());
    }
}
