namespace Ray.Cluster.Tests;

public sealed class Counter
{
    private long _value;

    public Counter(long start) => _value = start;

    public long Add(long x) => _value += x;
    public long Value() => _value;
    public int Pid() => Environment.ProcessId;
    public long Fail() => throw new ArgumentException("counter says no");
    public async Task<long> AddLater(long x) { await Task.Delay(1); return _value += x; }

    /// <summary>Records this process's pid in a file, then sleeps: the test kills the actor's worker meanwhile.</summary>
    public int SlowPid(string pidFile, int ms)
    {
        File.AppendAllText(pidFile, Environment.ProcessId + "\n");
        Thread.Sleep(ms);
        return Environment.ProcessId;
    }
}

public sealed class BadActor
{
    public BadActor(int x) => throw new InvalidOperationException("constructor failed with " + x);
}

[Collection("cluster")]
public sealed class ClusterActorTests
{
    [Fact]
    public async Task Actor_lives_in_its_own_worker_process_and_keeps_state_in_call_order()
    {
        await using var cluster = await ClusterScope.StartAsync();
        await using var ray = cluster.Connect();
        var counter = ray.Actor<Counter>().Remote(10L);
        var pid = await counter.Task((Counter c) => c.Pid()).Remote();
        Assert.NotEqual(Environment.ProcessId, pid);
        Assert.Contains(pid, cluster.WorkerPids());
        var refs = Enumerable.Range(0, 500).Select(_ => counter.Task((Counter c, long x) => c.Add(x)).Remote(1L)).ToArray();
        var values = ray.Get(refs, TimeSpan.FromSeconds(30));
        Assert.Equal(Enumerable.Range(11, 500).Select(i => (long)i), values); // in submission order
        Assert.Equal(511L, await counter.Task((Counter c, long x) => c.AddLater(x)).Remote(1L));
        var e = await Assert.ThrowsAsync<RayTaskException>(async () => await counter.Task((Counter c) => c.Fail()).Remote());
        Assert.Equal(typeof(ArgumentException).FullName, e.RemoteExceptionType);
        Assert.Equal(511L, await counter.Task((Counter c) => c.Value()).Remote()); // a failed call keeps the actor
    }

    [Fact]
    public async Task Constructor_failure_kills_the_actor_with_the_cause()
    {
        await using var cluster = await ClusterScope.StartAsync();
        await using var ray = cluster.Connect();
        var bad = ray.Actor<BadActor>().Remote(3);
        var e = await Assert.ThrowsAsync<ActorDiedException>(async () => await bad.Task((BadActor b) => b.GetHashCode()).Remote());
        Assert.Contains("constructor failed with 3", e.ToString());
    }

    [Fact]
    public async Task Killed_actor_worker_restarts_with_its_constructor_arguments_when_allowed()
    {
        await using var cluster = await ClusterScope.StartAsync();
        await using var ray = cluster.Connect();
        var counter = ray.Actor<Counter>(new ActorOptions { MaxRestarts = 1 }).Remote(100L);
        Assert.Equal(101L, await counter.Task((Counter c, long x) => c.Add(x)).Remote(1L));
        var pid = await counter.Task((Counter c) => c.Pid()).Remote();
        ClusterScope.Kill(pid);
        // The restarted actor ran its constructor again: state starts over at 100.
        long after = 0;
        Assert.True(await ClusterScope.WaitUntilAsync(() =>
        {
            try { after = counter.Task((Counter c, long x) => c.Add(x)).Remote(5L).Get(TimeSpan.FromSeconds(20)); return true; }
            catch (ActorDiedException) { return false; } // a call that raced the death
        }, TimeSpan.FromSeconds(30)));
        Assert.Equal(105L, after);
        var newPid = await counter.Task((Counter c) => c.Pid()).Remote();
        Assert.NotEqual(pid, newPid);
        // No restarts left: the next death is final.
        ClusterScope.Kill(newPid);
        await Assert.ThrowsAsync<ActorDiedException>(async () =>
        {
            for (var i = 0; i < 200; i++)
            {
                await counter.Task((Counter c) => c.Value()).Remote();
                await Task.Delay(25);
            }
        });
        Assert.False(counter.IsAlive);
    }

    [Fact]
    public async Task A_call_in_flight_when_the_actor_dies_is_resent_to_the_restarted_actor_when_allowed()
    {
        await using var cluster = await ClusterScope.StartAsync();
        await using var ray = cluster.Connect();
        var file = Path.Combine(cluster.SessionDir, "actor-pids");
        var actor = ray.Actor<Counter>(new ActorOptions { MaxRestarts = 1, MaxTaskRetries = 1 }).Remote(0L);
        var call = actor.Task((Counter c, string f, int ms) => c.SlowPid(f, ms)).Remote(file, 1500);
        var first = 0;
        Assert.True(await ClusterScope.WaitUntilAsync(() => File.Exists(file) && int.TryParse(File.ReadAllLines(file).FirstOrDefault(), out first), TimeSpan.FromSeconds(20)));
        ClusterScope.Kill(first);
        var second = call.Get(TimeSpan.FromSeconds(30)); // resent, ran again on the new worker
        Assert.NotEqual(first, second);

        // Without MaxTaskRetries the call in flight fails with ActorDied, and the actor restarts.
        var file2 = Path.Combine(cluster.SessionDir, "actor-pids-2");
        var other = ray.Actor<Counter>(new ActorOptions { MaxRestarts = 1 }).Remote(0L);
        var lost = other.Task((Counter c, string f, int ms) => c.SlowPid(f, ms)).Remote(file2, 3000);
        var pid = 0;
        Assert.True(await ClusterScope.WaitUntilAsync(() => File.Exists(file2) && int.TryParse(File.ReadAllLines(file2).FirstOrDefault(), out pid), TimeSpan.FromSeconds(20)));
        ClusterScope.Kill(pid);
        Assert.Throws<ActorDiedException>(() => lost.Get(TimeSpan.FromSeconds(30)));
        // Calls made while it restarts fail at once (MaxTaskRetries = 0); once it is back they run.
        long added = 0;
        Assert.True(await ClusterScope.WaitUntilAsync(() =>
        {
            try { added = other.Task((Counter c, long x) => c.Add(x)).Remote(1L).Get(TimeSpan.FromSeconds(30)); return true; }
            catch (ActorDiedException) { return false; }
        }, TimeSpan.FromSeconds(30)));
        Assert.Equal(1L, added);
    }
}
