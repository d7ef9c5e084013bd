namespace Ray.Cluster.Tests;

/// <summary>An actor whose calls meet: each waits until as many calls as asked are inside at once.</summary>
public sealed class Meeting
{
    private int _inside;
    private int _most;

    /// <summary>Waits (up to 20 s) until <paramref name="expected"/> calls are inside; returns whether they met.</summary>
    public bool Meet(int expected)
    {
        var now = Interlocked.Increment(ref _inside);
        lock (this) _most = Math.Max(_most, now);
        var deadline = Environment.TickCount64 + 20_000;
        while (Volatile.Read(ref _inside) < expected && Environment.TickCount64 < deadline) Thread.Sleep(1);
        var met = Volatile.Read(ref _inside) >= expected;
        Thread.Sleep(50); // stay inside a little, so the others see the count too
        Interlocked.Decrement(ref _inside);
        return met;
    }

    /// <summary>The most calls that were inside at once.</summary>
    public int Most() { lock (this) return _most; }

    private int _awaiting;
    private int _mostAwaiting;
    private readonly HashSet<int> _threads = [];

    /// <summary>An async call that stays suspended for a while: async calls interleave at their awaits.</summary>
    public async Task<int> Nap(int ms)
    {
        lock (_threads) _threads.Add(Environment.CurrentManagedThreadId);
        var now = ++_awaiting; // not atomic on purpose: async calls of one actor never run in parallel
        _mostAwaiting = Math.Max(_mostAwaiting, now);
        await Task.Delay(ms);
        lock (_threads) _threads.Add(Environment.CurrentManagedThreadId);
        _awaiting--;
        return _mostAwaiting;
    }

    /// <summary>How many threads ran the async calls (one: the actor's own thread).</summary>
    public int AsyncThreads() { lock (_threads) return _threads.Count; }
}

/// <summary>ActorOptions.MaxConcurrency for actors in worker processes, with the embedded runtime's semantics.</summary>
[Collection("cluster")]
public sealed class ClusterActorConcurrencyTests
{
    [Fact]
    public async Task A_threaded_actor_runs_up_to_max_concurrency_calls_at_once()
    {
        await using var cluster = await ClusterScope.StartAsync();
        await using var ray = cluster.Connect();
        var actor = ray.Actor<Meeting>(new ActorOptions { MaxConcurrency = 3 }).Remote();
        // Three calls that can only return once all three are inside together.
        var meet = Enumerable.Range(0, 3).Select(_ => actor.Task((Meeting m, int n) => m.Meet(n)).Remote(3)).ToArray();
        var met = ray.Get(meet, TimeSpan.FromSeconds(60));
        var inside = await actor.Task((Meeting m) => m.Most()).Remote();
        Assert.True(met.All(x => x), $"the calls did not meet: at most {inside} were inside at once");
        // Six more: never more than three inside at once (the rest wait in the worker's queue).
        var more = Enumerable.Range(0, 6).Select(_ => actor.Task((Meeting m, int n) => m.Meet(n)).Remote(1)).ToArray();
        ray.Get(more, TimeSpan.FromSeconds(60));
        Assert.Equal(3, await actor.Task((Meeting m) => m.Most()).Remote());
    }

    [Fact]
    public async Task An_async_actor_interleaves_calls_at_awaits_on_one_thread()
    {
        await using var cluster = await ClusterScope.StartAsync();
        await using var ray = cluster.Connect();
        var actor = ray.Actor<Meeting>(new ActorOptions { MaxConcurrency = 8 }).Remote();
        var naps = Enumerable.Range(0, 8).Select(_ => actor.Task((Meeting m, int ms) => m.Nap(ms)).Remote(500)).ToArray();
        var started = System.Diagnostics.Stopwatch.StartNew();
        var most = ray.Get(naps, TimeSpan.FromSeconds(60)).Max();
        var elapsed = started.Elapsed;
        Assert.True(most > 1, $"at most {most} async calls were suspended at once");
        Assert.True(elapsed < TimeSpan.FromSeconds(3.0), $"8 naps of 500 ms took {elapsed.TotalMilliseconds:0} ms: they did not overlap (one after another: 4 s)");
        Assert.Equal(1, await actor.Task((Meeting m) => m.AsyncThreads()).Remote());
    }

    [Fact]
    public async Task With_max_concurrency_1_calls_run_one_at_a_time()
    {
        await using var cluster = await ClusterScope.StartAsync();
        await using var ray = cluster.Connect();
        var actor = ray.Actor<Meeting>().Remote();
        var calls = Enumerable.Range(0, 4).Select(_ => actor.Task((Meeting m, int n) => m.Meet(n)).Remote(1)).ToArray();
        ray.Get(calls, TimeSpan.FromSeconds(60));
        Assert.Equal(1, await actor.Task((Meeting m) => m.Most()).Remote());
        var naps = Enumerable.Range(0, 3).Select(_ => actor.Task((Meeting m, int ms) => m.Nap(ms)).Remote(50)).ToArray();
        Assert.Equal(1, ray.Get(naps, TimeSpan.FromSeconds(60)).Max());
    }
}
