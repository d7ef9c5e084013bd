namespace Ray.Core.Tests;

public sealed class ActorCounter(int start)
{
    private int _value = start;
    public int Add(int x) => _value += x;
    public void Set(int x) => _value = x;
    public int Value => _value;
    public int Block(string key) => Probe.Block(key, _value);
}

public sealed class Recorder
{
    private readonly List<int> _items = new();
    private readonly List<(int Caller, int Seq)> _log = new();

    public void Append(int x) => _items.Add(x);
    public void AppendFrom(int caller, int seq) => _log.Add((caller, seq));
    public int[] Items() => _items.ToArray();
    public int[] SeqsOf(int caller) => _log.Where(e => e.Caller == caller).Select(e => e.Seq).ToArray();
    public int Total() => _log.Count;
}

public sealed class ArityActor
{
    public int A0() => 7;
    public int A1(int a) => a;
    public int A2(int a, int b) => a + 10 * b;
    public int A3(int a, int b, int c) => a + 10 * b + 100 * c;
    public int A4(int a, int b, int c, int d) => a + 10 * b + 100 * c + 1000 * d;
    public int A5(int a, int b, int c, int d, int e) => a + 10 * b + 100 * c + 1000 * d + 10000 * e;
    public int A6(int a, int b, int c, int d, int e, int f) => a + 10 * b + 100 * c + 1000 * d + 10000 * e + 100000 * f;
}

public sealed class Forwarder
{
    private readonly ActorHandle<ActorCounter>? _target;

    public Forwarder() { }
    public Forwarder(ActorHandle<ActorCounter> target) => _target = target;

    public int AddTo(ActorHandle<ActorCounter> h, int x) => h.Task((ActorCounter c, int y) => c.Add(y)).Remote(x).Get(Util.Long);
    public int AddToOwn(int x) => _target!.Task((ActorCounter c, int y) => c.Add(y)).Remote(x).Get(Util.Long);
}

public sealed class BrokenActor
{
    public BrokenActor(int code) => throw new InvalidOperationException($"ctor boom {code}");
    public int Ping() => 1;
}

public sealed class ConcurrentActor
{
    public bool Meet(string key, int n) => Probe.Barrier(key, n).SignalAndWait(Util.Long);

    public async Task<bool> MeetAsync(string key, int n)
    {
        Probe.Increment(key);
        var deadline = DateTime.UtcNow + Util.Long;
        while (Probe.Count(key) < n && DateTime.UtcNow < deadline) await Task.Delay(2);
        return Probe.Count(key) >= n;
    }

    /// <summary>Meets the others, then says where it ran: (on a thread-pool thread, its thread's name).</summary>
    public (bool PoolThread, string Name, bool Met) MeetAndSayWhere(string key, int n)
    {
        var met = Probe.Barrier(key, n).SignalAndWait(Util.Long);
        return (Thread.CurrentThread.IsThreadPoolThread, Thread.CurrentThread.Name ?? "", met);
    }

    public int Enter(string key)
    {
        var inside = Probe.Increment(key + ":in") - Probe.Count(key + ":out");
        Thread.Sleep(1);
        Probe.Increment(key + ":out");
        return inside;
    }
}

public sealed class AsyncCounter
{
    private int _value;

    public async Task<int> AddAsync(int x)
    {
        var v = _value;
        await Task.Delay(1);
        _value = v + x;
        return _value;
    }

    public async Task ResetAsync()
    {
        await Task.Yield();
        _value = 0;
    }

    public async Task<int> GetAsync()
    {
        await Task.Yield();
        return _value;
    }

    public async Task<int> SubmitNested(int x)
    {
        var rt = RayRuntime.Current;
        return await rt.Task(DepFns.Inc).Remote(x);
    }
}

public static class ActorFns
{
    public static int AddViaHandle(ActorHandle<ActorCounter> h, int x) =>
        h.Task((ActorCounter c, int y) => c.Add(y)).Remote(x).Get(Util.Long);

    public static int AddViaName(string name, int x) =>
        RayRuntime.Current.GetActor<ActorCounter>(name).Task((ActorCounter c, int y) => c.Add(y)).Remote(x).Get(Util.Long);
}

public class ActorTests
{
    [Fact]
    public async Task StateIsKeptAcrossCalls()
    {
        await using var rt = Util.Start();
        var h = rt.Actor<ActorCounter>().Remote(5);
        Assert.Equal(7, h.Task((ActorCounter c, int x) => c.Add(x)).Remote(2).Get(Util.Long));
        Assert.Equal(10, h.Task((ActorCounter c, int x) => c.Add(x)).Remote(3).Get(Util.Long));
        Assert.Equal(10, h.Task(c => c.Value).Remote().Get(Util.Long));
        Assert.Equal(Unit.Value, h.Task((ActorCounter c, int x) => c.Set(x)).Remote(1).Get(Util.Long));
        Assert.Equal(1, await h.Task(c => c.Value).Remote());
        Assert.True(h.IsAlive);
        Assert.Equal(typeof(ActorCounter), h.ActorType);
    }

    [Fact]
    public async Task MethodArities()
    {
        await using var rt = Util.Start();
        var h = rt.Actor<ArityActor>().Remote();
        Assert.Equal(7, h.Task(a => a.A0()).Remote().Get(Util.Long));
        Assert.Equal(1, h.Task((ArityActor a, int p1) => a.A1(p1)).Remote(1).Get(Util.Long));
        Assert.Equal(21, h.Task((ArityActor a, int p1, int p2) => a.A2(p1, p2)).Remote(1, 2).Get(Util.Long));
        Assert.Equal(321, h.Task((ArityActor a, int p1, int p2, int p3) => a.A3(p1, p2, p3)).Remote(1, 2, 3).Get(Util.Long));
        Assert.Equal(4321, h.Task((ArityActor a, int p1, int p2, int p3, int p4) => a.A4(p1, p2, p3, p4)).Remote(1, 2, 3, 4).Get(Util.Long));
        Assert.Equal(54321, h.Task((ArityActor a, int p1, int p2, int p3, int p4, int p5) => a.A5(p1, p2, p3, p4, p5)).Remote(1, 2, 3, 4, 5).Get(Util.Long));
        Assert.Equal(654321, h.Task((ArityActor a, int p1, int p2, int p3, int p4, int p5, int p6) => a.A6(p1, p2, p3, p4, p5, p6)).Remote(1, 2, 3, 4, 5, 6).Get(Util.Long));
    }

    [Fact]
    public async Task SingleCaller_ThousandCallsArriveInOrder()
    {
        await using var rt = Util.Start();
        var h = rt.Actor<Recorder>().Remote();
        var append = h.Task((Recorder r, int x) => r.Append(x));
        for (var i = 0; i < 1000; i++) _ = append.Remote(i);
        Assert.Equal(Enumerable.Range(0, 1000), h.Task(r => r.Items()).Remote().Get(Util.Long));
    }

    [Fact]
    public async Task ManyCallers_EachCallersOrderPreserved()
    {
        await using var rt = Util.Start();
        var h = rt.Actor<Recorder>().Remote();
        const int callers = 4, perCaller = 300;
        var threads = Enumerable.Range(0, callers).Select(c => new Thread(() =>
        {
            for (var s = 0; s < perCaller; s++) h.Task((Recorder r, int caller, int seq) => r.AppendFrom(caller, seq)).Remote(c, s);
        })).ToArray();
        foreach (var t in threads) t.Start();
        foreach (var t in threads) Assert.True(t.Join(Util.Long));
        Assert.Equal(callers * perCaller, h.Task(r => r.Total()).Remote().Get(Util.Long));
        for (var c = 0; c < callers; c++)
            Assert.Equal(Enumerable.Range(0, perCaller), h.Task((Recorder r, int caller) => r.SeqsOf(caller)).Remote(c).Get(Util.Long));
    }

    [Fact]
    public async Task CallWithPendingRefArg_StillRunsInSubmissionOrder()
    {
        await using var rt = Util.Start();
        var key = Util.Key();
        try
        {
            var h = rt.Actor<Recorder>().Remote();
            var pending = rt.Task(DepFns.Gated).Remote(key, 1);
            _ = h.Task((Recorder r, int x) => r.Append(x)).Remote(pending);
            _ = h.Task((Recorder r, int x) => r.Append(x)).Remote(2);
            Assert.True(Probe.WaitStarted(key));
            Probe.Release(key);
            Assert.Equal(new[] { 1, 2 }, h.Task(r => r.Items()).Remote().Get(Util.Long));
        }
        finally { Probe.Release(key); }
    }

    [Fact]
    public async Task HandlePassedIntoTask()
    {
        await using var rt = Util.Start();
        var h = rt.Actor<ActorCounter>().Remote(10);
        Assert.Equal(15, rt.Task(ActorFns.AddViaHandle).Remote(h, 5).Get(Util.Long));
        var refs = Enumerable.Range(0, 5).Select(_ => rt.Task(ActorFns.AddViaHandle).Remote(h, 1)).ToArray();
        rt.Get(refs, Util.Long);
        Assert.Equal(20, h.Task(c => c.Value).Remote().Get(Util.Long));
    }

    [Fact]
    public async Task HandlePassedIntoAnotherActor()
    {
        await using var rt = Util.Start();
        var counter = rt.Actor<ActorCounter>().Remote(0);
        var fwd = rt.Actor<Forwarder>().Remote();
        Assert.Equal(3, fwd.Task((Forwarder f, ActorHandle<ActorCounter> c, int x) => f.AddTo(c, x)).Remote(counter, 3).Get(Util.Long));
        var owning = rt.Actor<Forwarder>().Remote(counter);
        Assert.Equal(7, owning.Task((Forwarder f, int x) => f.AddToOwn(x)).Remote(4).Get(Util.Long));
        Assert.Equal(7, counter.Task(c => c.Value).Remote().Get(Util.Long));
    }

    [Fact]
    public async Task NamedActor_FoundByName()
    {
        await using var rt = Util.Start();
        var name = Util.Key();
        var h = rt.Actor<ActorCounter>(new ActorOptions { Name = name }).Remote(1);
        Assert.Equal(name, h.Name);
        var found = rt.GetActor<ActorCounter>(name);
        Assert.Equal(h.Id, found.Id);
        found.Task((ActorCounter c, int x) => c.Add(x)).Remote(2).Get(Util.Long);
        Assert.Equal(3, h.Task(c => c.Value).Remote().Get(Util.Long));
        Assert.NotNull(rt.TryGetActor<ActorCounter>(name));
        // From inside a task, via RayRuntime.Current.
        Assert.Equal(13, rt.Task(ActorFns.AddViaName).Remote(name, 10).Get(Util.Long));
    }

    [Fact]
    public async Task NamedActor_UnknownNameAndWrongType()
    {
        await using var rt = Util.Start();
        var name = Util.Key();
        var kept = rt.Actor<ActorCounter>(new ActorOptions { Name = name }).Remote(1); // kept: an actor with no handle ends
        Assert.Null(rt.TryGetActor<ActorCounter>(name + "-missing"));
        var e = Assert.Throws<ActorNotFoundException>(() => rt.GetActor<ActorCounter>(name + "-missing"));
        Assert.Contains(name + "-missing", e.Message);
        Assert.Throws<ActorNotFoundException>(() => rt.GetActor<Recorder>(name));
        GC.KeepAlive(kept);
    }

    [Fact]
    public async Task NamedActor_DuplicateNameRejected()
    {
        await using var rt = Util.Start();
        var name = Util.Key();
        var h = rt.Actor<ActorCounter>(new ActorOptions { Name = name }).Remote(1);
        Assert.ThrowsAny<ArgumentException>(() => rt.Actor<ActorCounter>(new ActorOptions { Name = name }).Remote(2));
        Assert.ThrowsAny<ArgumentException>(() => rt.Actor<Recorder>(new ActorOptions { Name = name }).Remote());
        // The first actor is untouched.
        Assert.Equal(1, rt.GetActor<ActorCounter>(name).Task(c => c.Value).Remote().Get(Util.Long));
        Assert.Equal(1, h.Task(c => c.Value).Remote().Get(Util.Long));
    }

    [Fact]
    public async Task Kill_CallsFailAndNameIsFreed()
    {
        await using var rt = Util.Start();
        var name = Util.Key();
        var h = rt.Actor<ActorCounter>(new ActorOptions { Name = name }).Remote(1);
        Assert.Equal(2, h.Task((ActorCounter c, int x) => c.Add(x)).Remote(1).Get(Util.Long));
        Assert.Equal(1, rt.Stats.ActorsAlive);
        rt.Kill(h);
        Assert.False(h.IsAlive);
        var e = Assert.Throws<ActorDiedException>(() => h.Task((ActorCounter c, int x) => c.Add(x)).Remote(1).Get(Util.Long));
        Assert.Equal(h.Id, e.ActorId);
        Assert.Null(rt.TryGetActor<ActorCounter>(name));
        Assert.Throws<ActorNotFoundException>(() => rt.GetActor<ActorCounter>(name));
        Assert.True(Util.Eventually(() => rt.Stats.ActorsAlive == 0));

        var again = rt.Actor<ActorCounter>(new ActorOptions { Name = name }).Remote(100);
        Assert.Equal(101, again.Task((ActorCounter c, int x) => c.Add(x)).Remote(1).Get(Util.Long));
        Assert.Equal(again.Id, rt.GetActor<ActorCounter>(name).Id);
        rt.Kill(h); // killing a dead actor is harmless
    }

    [Fact]
    public async Task Kill_FailsRunningAndQueuedCalls()
    {
        await using var rt = Util.Start();
        var key = Util.Key();
        try
        {
            var h = rt.Actor<ActorCounter>().Remote(1);
            var running = h.Task((ActorCounter c, string k) => c.Block(k)).Remote(key);
            Assert.True(Probe.WaitStarted(key));
            var queued = Enumerable.Range(0, 5).Select(i => h.Task((ActorCounter c, int x) => c.Add(x)).Remote(i)).ToArray();
            rt.Kill(h);
            Probe.Release(key);
            Assert.Throws<ActorDiedException>(() => running.Get(Util.Long));
            foreach (var q in queued) Assert.Throws<ActorDiedException>(() => q.Get(Util.Long));
        }
        finally { Probe.Release(key); }
    }

    [Fact]
    public async Task Kill_FailsQueuedCallsWithoutWaitingForTheRunningOne()
    {
        // Ray's kill is immediate: callers of queued (and running) calls learn at once.
        await using var rt = Util.Start();
        var key = Util.Key();
        try
        {
            var h = rt.Actor<ActorCounter>().Remote(1);
            var running = h.Task((ActorCounter c, string k) => c.Block(k)).Remote(key);
            Assert.True(Probe.WaitStarted(key));
            var queued = h.Task((ActorCounter c, int x) => c.Add(x)).Remote(1);
            rt.Kill(h);
            Assert.Throws<ActorDiedException>(() => queued.Get(TimeSpan.FromSeconds(5)));
            Assert.Throws<ActorDiedException>(() => running.Get(TimeSpan.FromSeconds(5)));
        }
        finally { Probe.Release(key); }
    }

    [Fact]
    public async Task ConstructorFailure_CallsFailWithActorDied()
    {
        await using var rt = Util.Start();
        var h = rt.Actor<BrokenActor>().Remote(3);
        var e = Assert.Throws<ActorDiedException>(() => h.Task(a => a.Ping()).Remote().Get(Util.Long));
        Assert.Contains("ctor boom 3", e.Message);
        Assert.Contains(Util.Chain(e), x => x is InvalidOperationException);
        Assert.Throws<ActorDiedException>(() => h.Task(a => a.Ping()).Remote().Get(Util.Long));
        Assert.True(Util.Eventually(() => !h.IsAlive));
        // The runtime is fine.
        Assert.Equal(3, rt.Task(DepFns.Add).Remote(1, 2).Get(Util.Long));
    }

    [Fact]
    public async Task ConstructorFailure_FreesNameAndResources()
    {
        await using var rt = Util.Start(cpus: 2);
        var name = Util.Key();
        var h = rt.Actor<BrokenActor>(new ActorOptions { Name = name, NumCpus = 1 }).Remote(1);
        Assert.Throws<ActorDiedException>(() => h.Task(a => a.Ping()).Remote().Get(Util.Long));
        Assert.True(Util.Eventually(() => rt.TryGetActor<BrokenActor>(name) is null));
        Assert.True(Util.Eventually(() => rt.Cpu() == 2));
    }

    [Fact]
    public async Task WrongConstructorArguments_RejectedAtRemote()
    {
        await using var rt = Util.Start();
        Assert.Throws<ArgumentException>(() => rt.Actor<ActorCounter>().Remote("not an int"));
        Assert.Throws<ArgumentException>(() => rt.Actor<ActorCounter>().Remote());
        Assert.Equal(0, rt.Stats.ActorsAlive);
    }

    [Fact]
    public async Task MaxConcurrency_LetsCallsOverlap()
    {
        await using var rt = Util.Start();
        var key = Util.Key();
        var h = rt.Actor<ConcurrentActor>(new ActorOptions { MaxConcurrency = 3 }).Remote();
        var refs = Enumerable.Range(0, 3).Select(_ => h.Task((ConcurrentActor a, string k, int n) => a.Meet(k, n)).Remote(key, 3)).ToArray();
        Assert.All(rt.Get(refs, TimeSpan.FromSeconds(15)), Assert.True);
    }

    [Fact]
    public async Task MaxConcurrency_SyncCallsRunOnTheActorsOwnThreads_AsInWorkerProcesses()
    {
        // A threaded actor has threads of its own (one executor for both modes): calls that block
        // never wait for the process thread pool to grow, and no pool thread is taken from tasks.
        await using var rt = Util.Start();
        var key = Util.Key();
        var h = rt.Actor<ConcurrentActor>(new ActorOptions { MaxConcurrency = 5 }).Remote();
        var refs = Enumerable.Range(0, 5).Select(_ => h.Task((ConcurrentActor a, string k, int n) => a.MeetAndSayWhere(k, n)).Remote(key, 5)).ToArray();
        var where = rt.Get(refs, TimeSpan.FromSeconds(15));
        Assert.All(where, w => Assert.True(w.Met));
        Assert.All(where, w => Assert.False(w.PoolThread));
        Assert.All(where, w => Assert.StartsWith("ray-actor-ConcurrentActor-", w.Name));
        Assert.Equal(5, where.Select(w => w.Name).Distinct().Count());
        // Killed: its threads end (they do not stay parked for the process's life). The kernel
        // keeps 15 characters of a thread's name; only this class makes ConcurrentActor actors.
        Assert.True(ActorThreads() >= 5);
        rt.Kill(h);
        Assert.True(Util.Eventually(() => ActorThreads() == 0), $"{ActorThreads()} actor threads left");
    }

    private static int ActorThreads() => Directory.EnumerateDirectories("/proc/self/task").Count(d =>
    {
        try { return File.ReadAllText(Path.Combine(d, "comm")).Trim() == "ray-actor-ConcurrentActor"[..15]; }
        catch (IOException) { return false; } // the thread ended meanwhile
    });

    [Fact]
    public async Task MaxConcurrency_AsyncMethodsInterleave()
    {
        await using var rt = Util.Start();
        var key = Util.Key();
        var h = rt.Actor<ConcurrentActor>(new ActorOptions { MaxConcurrency = 4 }).Remote();
        var refs = Enumerable.Range(0, 4).Select(_ => h.Task((ConcurrentActor a, string k, int n) => a.MeetAsync(k, n)).Remote(key, 4)).ToArray();
        Assert.All(rt.Get(refs, TimeSpan.FromSeconds(15)), Assert.True);
    }

    [Fact]
    public async Task MaxConcurrencyOne_CallsNeverOverlap()
    {
        await using var rt = Util.Start();
        var key = Util.Key();
        var h = rt.Actor<ConcurrentActor>().Remote();
        var refs = new System.Collections.Concurrent.ConcurrentBag<ObjectRef<int>>();
        var threads = Enumerable.Range(0, 3).Select(_ => new Thread(() =>
        {
            for (var i = 0; i < 20; i++) refs.Add(h.Task((ConcurrentActor a, string k) => a.Enter(k)).Remote(key));
        })).ToArray();
        foreach (var t in threads) t.Start();
        foreach (var t in threads) Assert.True(t.Join(Util.Long));
        Assert.All(rt.Get(refs.ToArray(), Util.Long), inside => Assert.Equal(1, inside));
    }

    [Fact]
    public async Task InvalidMaxConcurrency_Rejected()
    {
        await using var rt = Util.Start();
        Assert.ThrowsAny<ArgumentException>(() => rt.Actor<ConcurrentActor>(new ActorOptions { MaxConcurrency = 0 }).Remote());
    }

    [Fact]
    public async Task AsyncMethods()
    {
        await using var rt = Util.Start();
        var h = rt.Actor<AsyncCounter>().Remote();
        var adds = Enumerable.Range(0, 50).Select(_ => h.Task((AsyncCounter c, int x) => c.AddAsync(x)).Remote(2)).ToArray();
        // One call at a time (MaxConcurrency = 1): no update is lost across awaits, in submission order.
        Assert.Equal(Enumerable.Range(1, 50).Select(i => 2 * i), rt.Get(adds, Util.Long));
        Assert.Equal(100, h.Task(c => c.GetAsync()).Remote().Get(Util.Long));
        Assert.Equal(Unit.Value, h.Task(c => c.ResetAsync()).Remote().Get(Util.Long));
        Assert.Equal(0, await h.Task(c => c.GetAsync()).Remote());
        Assert.Equal(6, h.Task((AsyncCounter c, int x) => c.SubmitNested(x)).Remote(5).Get(Util.Long));
    }

    [Fact]
    public async Task ManyActors_Independent()
    {
        await using var rt = Util.Start();
        var hs = Enumerable.Range(0, 20).Select(i => rt.Actor<ActorCounter>().Remote(i)).ToArray();
        var refs = hs.Select(h => h.Task((ActorCounter c, int x) => c.Add(x)).Remote(100)).ToArray();
        Assert.Equal(Enumerable.Range(100, 20), rt.Get(refs, Util.Long));
        Assert.Equal(20, rt.Stats.ActorsAlive);
        Assert.Equal(20, hs.Select(h => h.Id).Distinct().Count());
    }
}
