using System.Diagnostics;
using Xunit;

namespace Ray.Core.Tests;

public static class SemanticsFns
{
    public static int Id(int x) => x;

    public static int WaitThenReturn(string key, int x)
    {
        Probe.WaitFor(key);
        return x;
    }

    public static int Throw(int x) => throw new InvalidOperationException("boom " + x);
}

public sealed class SlowToMake
{
    public SlowToMake() { }
    public int Ping() => 1;
}

/// <summary>Where we differed from Ray (issue 13's list), embedded; each failed before its fix.</summary>
public class RaySemanticsTests
{
    [Fact]
    public async Task Wait_on_an_empty_list_returns_two_empty_lists()
    {
        await using var rt = Util.Start();
        var result = rt.Wait(Array.Empty<ObjectRef<int>>());
        Assert.Empty(result.Ready);
        Assert.Empty(result.NotReady);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public async Task Wait_refuses_numReturns_below_one(int numReturns)
    {
        await using var rt = Util.Start();
        var r = rt.Put(1);
        Assert.Throws<ArgumentOutOfRangeException>(() => rt.Wait([r], numReturns));
    }

    [Fact]
    public async Task Get_of_a_list_fails_as_soon_as_any_ref_fails()
    {
        await using var rt = Util.Start();
        var key = Util.Key();
        try
        {
            var slow = rt.Task(SemanticsFns.WaitThenReturn).Remote(key, 1);
            var failing = rt.Task(SemanticsFns.Throw).Remote(2);
            var sw = Stopwatch.StartNew();
            var e = Assert.ThrowsAny<RayTaskException>(() => rt.Get([slow, failing], TimeSpan.FromSeconds(20)));
            Assert.Contains("boom 2", e.Message);
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5), $"took {sw.Elapsed}: waited for the earlier ref first");
        }
        finally { Probe.Set(key); }
    }

    [Fact]
    public async Task Putting_a_ref_is_refused()
    {
        await using var rt = Util.Start();
        var r = rt.Put(1);
        var e = Assert.Throws<ArgumentException>(() => rt.Put(r));
        Assert.Contains("ObjectRef", e.Message);
        Assert.Throws<ArgumentException>(() => rt.Put<ObjectRef>(r));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    public async Task Blank_actor_names_are_refused(string name)
    {
        await using var rt = Util.Start();
        Assert.Throws<ArgumentException>(() => rt.Actor<SlowToMake>(new ActorOptions { Name = name }).Remote());
        Assert.Equal(0, rt.Stats.ActorsAlive);
    }

    [Theory]
    [InlineData(1.5)]
    [InlineData(2.25)]
    public async Task Resource_requests_above_one_must_be_whole(double cpus)
    {
        await using var rt = Util.Start(cpus: 4);
        var e = Assert.Throws<ArgumentException>(() => rt.Task(SemanticsFns.Id).Options(new TaskOptions { NumCpus = cpus }).Remote(1));
        Assert.Contains("whole", e.Message);
        Assert.Throws<ArgumentException>(() => rt.Actor<SlowToMake>(new ActorOptions { NumCpus = cpus }).Remote());
        Assert.Throws<ArgumentException>(() => rt.Task(SemanticsFns.Id).Options(new TaskOptions { Resources = new Dictionary<string, double> { ["CPU"] = 0, ["x"] = cpus } }).Remote(1));
        // Fractions below one and whole amounts stay fine.
        Assert.Equal(1, rt.Task(SemanticsFns.Id).Options(new TaskOptions { NumCpus = 0.5 }).Remote(1).Get(Util.Long));
        Assert.Equal(1, rt.Task(SemanticsFns.Id).Options(new TaskOptions { NumCpus = 2 }).Remote(1).Get(Util.Long));
    }

    [Fact]
    public async Task A_runtime_with_no_cpus_puts_gets_and_runs_zero_cpu_tasks()
    {
        await using var rt = RayRuntime.Start(new RuntimeOptions { NumCpus = 0 });
        Assert.Equal(7, rt.Put(7).Get(Util.Long));
        Assert.Equal(3, rt.Task(SemanticsFns.Id).Options(new TaskOptions { NumCpus = 0 }).Remote(3).Get(Util.Long));
        Assert.Throws<ResourcesUnsatisfiableException>(() => rt.Task(SemanticsFns.Id).Remote(1)); // needs a CPU this runtime never has
    }

    [Fact]
    public async Task Shutdown_with_many_actors_waiting_for_resources_is_quick()
    {
        var rt = Util.Start(cpus: 1);
        var actors = Enumerable.Range(0, 60).Select(_ => rt.Actor<SlowToMake>(new ActorOptions { NumCpus = 1 }).Remote()).ToList();
        Assert.Equal(1, actors[0].Task(a => a.Ping()).Remote().Get(Util.Long));
        var sw = Stopwatch.StartNew();
        await rt.DisposeAsync();
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(4), $"shutdown took {sw.Elapsed}");
    }
}

public sealed class Holder
{
    public int Ping() => 1;
}

public class SchedulingOrderTests
{
    [Fact]
    public async Task A_pending_actor_that_does_not_fit_does_not_block_a_later_one_that_does()
    {
        await using var rt = Util.Start(cpus: 1);
        var first = rt.Actor<Holder>(new ActorOptions { NumCpus = 0.5 }).Remote();
        Assert.Equal(1, first.Task(a => a.Ping()).Remote().Get(Util.Long));
        var big = rt.Actor<Holder>(new ActorOptions { NumCpus = 0.7 }).Remote(); // waits: 0.5 free
        var small = rt.Actor<Holder>(new ActorOptions { NumCpus = 0.3 }).Remote();
        Assert.Equal(1, small.Task(a => a.Ping()).Remote().Get(Util.Long)); // it used to wait behind the 0.7
        var zero = rt.Actor<Holder>(new ActorOptions { NumCpus = 0 }).Remote();
        Assert.Equal(1, zero.Task(a => a.Ping()).Remote().Get(Util.Long));
        var bigCall = big.Task(a => a.Ping()).Remote();
        Assert.False(bigCall.WaitReady(Util.Short));
        rt.Kill(first);
        Assert.Equal(1, bigCall.Get(Util.Long)); // granted once room was freed
    }
}

public sealed class Stateful
{
    public static readonly System.Collections.Concurrent.ConcurrentDictionary<string, WeakReference> Made = new();
    public Stateful(string key) => Made[key] = new WeakReference(this);
    public int Ping() => 1;
}

public sealed class SlowCtor
{
    public SlowCtor(string key)
    {
        Probe.Set(key + ":in");
        Probe.WaitFor(key + ":go");
    }
    public int Ping() => 1;
}

public sealed class Parent
{
    public ActorHandle<Holder> MakeChild() => RayRuntime.Current.Actor<Holder>().Remote();
}

public class ActorLifetimeTests
{
    [Fact]
    public async Task A_killed_actors_state_is_freed_though_handles_live_on()
    {
        await using var rt = Util.Start();
        var key = Util.Key();
        var h = rt.Actor<Stateful>().Remote(key);
        Assert.Equal(1, h.Task(a => a.Ping()).Remote().Get(Util.Long));
        rt.Kill(h);
        Assert.True(Util.CollectUntil(() => !Stateful.Made[key].IsAlive), "the killed actor's instance is still reachable");
        GC.KeepAlive(h);
    }

    [Fact]
    public async Task Killing_an_actor_in_its_constructor_gives_its_cpu_back_at_once()
    {
        await using var rt = Util.Start(cpus: 1);
        var key = Util.Key();
        try
        {
            var h = rt.Actor<SlowCtor>(new ActorOptions { NumCpus = 1 }).Remote(key);
            Assert.True(Probe.WaitFor(key + ":in"));
            Assert.Equal(0, rt.Cpu());
            rt.Kill(h);
            Assert.True(Util.Eventually(() => rt.Cpu() == 1, TimeSpan.FromSeconds(2)), "the CPU stayed with the constructor");
            Assert.Throws<ActorDiedException>(() => h.Task(a => a.Ping()).Remote().Get(Util.Long));
        }
        finally { Probe.Set(key + ":go"); }
    }

    [Fact]
    public async Task An_actor_made_by_an_actor_dies_with_it()
    {
        await using var rt = Util.Start();
        var parent = rt.Actor<Parent>().Remote();
        var child = parent.Task(p => p.MakeChild()).Remote().Get(Util.Long);
        Assert.Equal(1, child.Task(c => c.Ping()).Remote().Get(Util.Long));
        rt.Kill(parent);
        var e = Assert.Throws<ActorDiedException>(() => child.Task(c => c.Ping()).Remote().Get(Util.Long));
        Assert.Contains("the actor that made it", e.Message);
        Assert.True(Util.Eventually(() => rt.Stats.ActorsAlive == 0));
    }
}

public sealed class Slowpoke
{
    private int _done;
    public int Work(int ms) { Thread.Sleep(ms); return ++_done; }
    public async Task<int> WorkAsync(int ms) { await Task.Delay(ms); return ++_done; }
}

public class TerminateTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public async Task Terminate_lets_earlier_calls_finish_then_ends_the_actor(int maxConcurrency)
    {
        await using var rt = Util.Start();
        var h = rt.Actor<Slowpoke>(new ActorOptions { Name = Util.Key(), MaxConcurrency = maxConcurrency }).Remote();
        var earlier = Enumerable.Range(0, 3).Select(_ => h.Task((Slowpoke s, int ms) => s.Work(ms)).Remote(50)).ToList();
        var asyncEarlier = h.Task((Slowpoke s, int ms) => s.WorkAsync(ms)).Remote(50);
        var ended = rt.Terminate(h);
        var later = h.Task((Slowpoke s, int ms) => s.Work(ms)).Remote(1);
        Assert.Equal(Unit.Value, ended.Get(Util.Long));
        Assert.All(rt.Get(earlier, Util.Long), v => Assert.InRange(v, 1, 4));
        Assert.InRange(asyncEarlier.Get(Util.Long), 1, 4);
        var e = Assert.Throws<ActorDiedException>(() => later.Get(Util.Long));
        Assert.Contains("terminated", e.Message);
        Assert.False(h.IsAlive);
        Assert.True(Util.Eventually(() => rt.Stats.ActorsAlive == 0));
        Assert.Equal(Unit.Value, rt.Terminate(h).Get(Util.Long)); // a dead actor: at once
    }
}

public sealed class Typed(long start, string label)
{
    public string Show() => $"{label}:{start}";
}

public class TypedConstructorTests
{
    [Fact]
    public async Task Actors_are_made_from_a_compiler_checked_constructor_call()
    {
        await using var rt = Util.Start();
        var label = "n";
        int x = 41;
        var h = rt.Actor<Typed>().Remote(() => new Typed(x + 1, label));
        Assert.Equal("n:42", h.Task(a => a.Show()).Remote().Get(Util.Long));
        Assert.Equal("c:7", rt.Actor<Typed>().Remote(() => new Typed(7, "c")).Task(a => a.Show()).Remote().Get(Util.Long));
        var notACtor = Assert.Throws<ArgumentException>(() => rt.Actor<Typed>().Remote(() => Make()));
        Assert.Contains("constructor call", notACtor.Message);
    }

    private static Typed Make() => new(1, "x");
}
