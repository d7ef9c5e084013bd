namespace Ray.Core.Tests;

public static class ResFns
{
    public static int Gated(string key, int value) => Probe.Block(key, value);

    public static int Mark(string key)
    {
        Probe.Set(key);
        return 1;
    }

    /// <summary>Returns true only if <paramref name="n"/> tasks were running at the same time.</summary>
    public static bool Rendezvous(string key, int n) => Probe.Barrier(key, n).SignalAndWait(Util.Long);

    /// <summary>Tracks how many run at once under <paramref name="key"/>; returns the peak seen on entry.</summary>
    public static int Exclusive(string key)
    {
        var now = Probe.Increment(key + ":in");
        try
        {
            Thread.Sleep(20);
            return now - Probe.Count(key + ":out");
        }
        finally { Probe.Increment(key + ":out"); }
    }

    public static int One() => 1;
    public static int Fail() => throw new InvalidOperationException("x");
}

public sealed class ResourceHolder
{
    public int Ping() => 1;
}

public class ResourceTests
{
    [Fact]
    public async Task TwoCpuTask_WaitsForOneCpuTaskToFinish()
    {
        await using var rt = Util.Start(cpus: 2);
        var key = Util.Key();
        var bigKey = Util.Key();
        try
        {
            var small = rt.Task(ResFns.Gated).Remote(key, 1);
            Assert.True(Probe.WaitStarted(key));
            Assert.True(Util.Eventually(() => rt.Cpu() == 1));

            var big = rt.Task(ResFns.Mark).Options(new TaskOptions { NumCpus = 2 }).Remote(bigKey);
            Assert.False(big.WaitReady(Util.Short));
            Assert.False(Probe.IsSet(bigKey));

            Probe.Release(key);
            Assert.Equal(1, small.Get(Util.Long));
            Assert.Equal(1, big.Get(Util.Long));
            Assert.True(Probe.IsSet(bigKey));
            Assert.True(Util.Eventually(() => rt.Cpu() == 2));
        }
        finally { Probe.Release(key); }
    }

    [Fact]
    public async Task OneCpuTasks_RunTwoAtATimeOnTwoCpus()
    {
        await using var rt = Util.Start(cpus: 2);
        var k1 = Util.Key();
        var k2 = Util.Key();
        var k3 = Util.Key();
        try
        {
            var a = rt.Task(ResFns.Gated).Remote(k1, 1);
            var b = rt.Task(ResFns.Gated).Remote(k2, 2);
            Assert.True(Probe.WaitStarted(k1));
            Assert.True(Probe.WaitStarted(k2));
            var c = rt.Task(ResFns.Gated).Remote(k3, 3);
            Thread.Sleep(Util.Short);
            Assert.False(Probe.Started(k3));
            Assert.Equal(0, rt.Cpu());
            Probe.Release(k1);
            Assert.True(Probe.WaitStarted(k3));
            Probe.Release(k2);
            Probe.Release(k3);
            Assert.Equal(new[] { 1, 2, 3 }, rt.Get(new[] { a, b, c }, Util.Long));
        }
        finally
        {
            Probe.Release(k1);
            Probe.Release(k2);
            Probe.Release(k3);
        }
    }

    [Fact]
    public async Task ImpossibleRequests_ThrowAtRemote()
    {
        await using var rt = Util.Start(cpus: 2, resources: new Dictionary<string, double> { ["slot"] = 1 });
        var e = Assert.Throws<ResourcesUnsatisfiableException>(() =>
            rt.Task(ResFns.One).Options(new TaskOptions { NumCpus = 3 }).Remote());
        Assert.Contains("CPU", e.Message);
        Assert.Throws<ResourcesUnsatisfiableException>(() =>
            rt.Task(ResFns.One).Options(new TaskOptions { Resources = new Dictionary<string, double> { ["TPU"] = 1 } }).Remote());
        Assert.Throws<ResourcesUnsatisfiableException>(() =>
            rt.Task(ResFns.One).Options(new TaskOptions { Resources = new Dictionary<string, double> { ["slot"] = 2 } }).Remote());
        Assert.Throws<ResourcesUnsatisfiableException>(() =>
            rt.Task(ResFns.One).Options(new TaskOptions { NumGpus = 1 }).Remote());
        Assert.Throws<ResourcesUnsatisfiableException>(() =>
            rt.Actor<ResourceHolder>(new ActorOptions { NumCpus = 3 }).Remote());
        Assert.Throws<ResourcesUnsatisfiableException>(() =>
            rt.Actor<ResourceHolder>(new ActorOptions { Resources = new Dictionary<string, double> { ["TPU"] = 1 } }).Remote());
        // Nothing was accepted, and the runtime still works.
        Assert.Equal(0, rt.Stats.TasksSubmitted);
        Assert.Equal(1, rt.Task(ResFns.One).Remote().Get(Util.Long));
    }

    [Fact]
    public async Task NegativeResource_Rejected()
    {
        await using var rt = Util.Start();
        Assert.ThrowsAny<ArgumentException>(() => rt.Task(ResFns.One).Options(new TaskOptions { NumCpus = -1 }).Remote());
        Assert.ThrowsAny<ArgumentException>(() => rt.Actor<ResourceHolder>(new ActorOptions { NumCpus = -1 }).Remote());
    }

    [Fact]
    public async Task FractionalCpus_FourHalfCpuTasksRunTogetherOnTwoCpus()
    {
        await using var rt = Util.Start(cpus: 2);
        var key = Util.Key();
        var opts = new TaskOptions { NumCpus = 0.5 };
        var refs = Enumerable.Range(0, 4).Select(_ => rt.Task(ResFns.Rendezvous).Options(opts).Remote(key, 4)).ToArray();
        Assert.All(rt.Get(refs, TimeSpan.FromSeconds(15)), Assert.True);
    }

    [Fact]
    public async Task FractionalCpus_FifthHalfCpuTaskWaits()
    {
        await using var rt = Util.Start(cpus: 2);
        var keys = Enumerable.Range(0, 5).Select(_ => Util.Key()).ToArray();
        var opts = new TaskOptions { NumCpus = 0.5 };
        try
        {
            var refs = keys.Take(4).Select((k, i) => rt.Task(ResFns.Gated).Options(opts).Remote(k, i)).ToList();
            foreach (var k in keys.Take(4)) Assert.True(Probe.WaitStarted(k));
            refs.Add(rt.Task(ResFns.Gated).Options(opts).Remote(keys[4], 4));
            Thread.Sleep(Util.Short);
            Assert.False(Probe.Started(keys[4]));
            foreach (var k in keys) Probe.Release(k);
            Assert.Equal(new[] { 0, 1, 2, 3, 4 }, rt.Get(refs, Util.Long));
        }
        finally { foreach (var k in keys) Probe.Release(k); }
    }

    [Fact]
    public async Task CustomResource_LimitsConcurrency()
    {
        await using var rt = Util.Start(cpus: 2, resources: new Dictionary<string, double> { ["slot"] = 1 });
        Assert.Equal(1, rt.ClusterResources["slot"]);
        var k1 = Util.Key();
        var k2 = Util.Key();
        var opts = new TaskOptions { NumCpus = 0, Resources = new Dictionary<string, double> { ["slot"] = 1 } };
        try
        {
            var a = rt.Task(ResFns.Gated).Options(opts).Remote(k1, 1);
            Assert.True(Probe.WaitStarted(k1));
            Assert.True(Util.Eventually(() => rt.AvailableResources["slot"] == 0));
            var b = rt.Task(ResFns.Gated).Options(opts).Remote(k2, 2);
            // CPUs are free, but the slot is taken.
            Assert.Equal(3, rt.Task(DepFns.Add).Remote(1, 2).Get(Util.Long));
            Thread.Sleep(Util.Short);
            Assert.False(Probe.Started(k2));
            Probe.Release(k1);
            Assert.True(Probe.WaitStarted(k2));
            Probe.Release(k2);
            Assert.Equal(new[] { 1, 2 }, rt.Get(new[] { a, b }, Util.Long));
            Assert.True(Util.Eventually(() => rt.AvailableResources["slot"] == 1));
        }
        finally
        {
            Probe.Release(k1);
            Probe.Release(k2);
        }
    }

    [Fact]
    public async Task CustomResource_ExclusiveUse()
    {
        await using var rt = Util.Start(cpus: 2, resources: new Dictionary<string, double> { ["lock"] = 1 });
        var key = Util.Key();
        var opts = new TaskOptions { NumCpus = 0.1, Resources = new Dictionary<string, double> { ["lock"] = 1 } };
        var refs = Enumerable.Range(0, 8).Select(_ => rt.Task(ResFns.Exclusive).Options(opts).Remote(key)).ToArray();
        Assert.All(rt.Get(refs, Util.Long), peak => Assert.Equal(1, peak));
    }

    [Fact]
    public async Task ZeroCpuTask_RunsWhileCpusAreHeld()
    {
        await using var rt = Util.Start(cpus: 1);
        var key = Util.Key();
        try
        {
            var a = rt.Task(ResFns.Gated).Remote(key, 1);
            Assert.True(Probe.WaitStarted(key));
            Assert.Equal(1, rt.Task(ResFns.One).Options(new TaskOptions { NumCpus = 0 }).Remote().Get(Util.Long));
            Probe.Release(key);
            Assert.Equal(1, a.Get(Util.Long));
        }
        finally { Probe.Release(key); }
    }

    [Fact]
    public async Task ResourcesReturnedAfterFailure()
    {
        await using var rt = Util.Start(cpus: 2);
        var refs = Enumerable.Range(0, 10).Select(_ => rt.Task(ResFns.Fail).Options(new TaskOptions { NumCpus = 2 }).Remote()).ToArray();
        foreach (var r in refs) Assert.Throws<RayTaskException>(() => r.Get(Util.Long));
        Assert.True(Util.Eventually(() => rt.Cpu() == 2));
        Assert.Equal(1, rt.Task(ResFns.One).Options(new TaskOptions { NumCpus = 2 }).Remote().Get(Util.Long));
    }

    [Fact]
    public async Task Actor_HoldsItsResourcesForLife()
    {
        await using var rt = Util.Start(cpus: 2);
        Assert.Equal(2, rt.ClusterResources["CPU"]);
        var h = rt.Actor<ResourceHolder>(new ActorOptions { NumCpus = 1 }).Remote();
        Assert.Equal(1, h.Task(a => a.Ping()).Remote().Get(Util.Long));
        Assert.Equal(1, rt.Cpu());
        // A 2-CPU task cannot run while the actor lives.
        var big = rt.Task(ResFns.One).Options(new TaskOptions { NumCpus = 2 }).Remote();
        Assert.False(big.WaitReady(Util.Short));
        rt.Kill(h);
        Assert.Equal(1, big.Get(Util.Long));
        Assert.True(Util.Eventually(() => rt.Cpu() == 2));
    }

    [Fact]
    public async Task DefaultActors_HoldNoCpu()
    {
        await using var rt = Util.Start(cpus: 2);
        var actors = Enumerable.Range(0, 8).Select(_ => rt.Actor<ResourceHolder>().Remote()).ToArray();
        Assert.All(actors, h => Assert.Equal(1, h.Task(a => a.Ping()).Remote().Get(Util.Long)));
        Assert.Equal(8, rt.Stats.ActorsAlive);
        Assert.Equal(2, rt.Cpu());
        Assert.Equal(1, rt.Task(ResFns.One).Options(new TaskOptions { NumCpus = 2 }).Remote().Get(Util.Long));
    }

    [Fact]
    public async Task GpuResource()
    {
        await using var rt = Util.Start(cpus: 2, gpus: 1);
        Assert.Equal(1, rt.ClusterResources["GPU"]);
        Assert.Equal(1, rt.Task(ResFns.One).Options(new TaskOptions { NumGpus = 1 }).Remote().Get(Util.Long));
        Assert.Throws<ResourcesUnsatisfiableException>(() => rt.Task(ResFns.One).Options(new TaskOptions { NumGpus = 2 }).Remote());
    }
}
