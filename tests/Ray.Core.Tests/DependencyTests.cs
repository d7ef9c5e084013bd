namespace Ray.Core.Tests;

public static class DepFns
{
    public static int Add(int a, int b) => a + b;
    public static int Inc(int a) => a + 1;
    public static int Sum6(int a, int b, int c, int d, int e, int f) => a + b + c + d + e + f;
    public static int Gated(string key, int value) => Probe.Block(key, value);

    public static int Record(string key, int value)
    {
        Probe.Increment(key + ":ran");
        return value * 2;
    }

    public static string Concat(string a, string b) => a + b;
    public static int Length(int[] xs) => xs.Length;
}

public class DependencyTests
{
    [Fact]
    public async Task RefArgs_AreResolvedToValues()
    {
        await using var rt = Util.Start();
        var a = rt.Task(DepFns.Add).Remote(1, 2);
        var b = rt.Task(DepFns.Add).Remote(a, 10);
        var c = rt.Task(DepFns.Add).Remote(b, a);
        Assert.Equal(16, c.Get(Util.Long));
    }

    [Fact]
    public async Task LongChain()
    {
        await using var rt = Util.Start();
        ObjectRef<int> r = rt.Put(0);
        for (var i = 0; i < 200; i++) r = rt.Task(DepFns.Inc).Remote(r);
        Assert.Equal(200, r.Get(Util.Long));
    }

    [Fact]
    public async Task SameRefTwice_AndMixedValuesAndRefs()
    {
        await using var rt = Util.Start();
        var a = rt.Put(5);
        Assert.Equal(10, rt.Task(DepFns.Add).Remote(a, a).Get(Util.Long));
        var refs = Enumerable.Range(1, 3).Select(i => rt.Task(DepFns.Inc).Remote(i)).ToArray();
        Assert.Equal(2 + 3 + 4 + 4 + 5 + 6, rt.Task(DepFns.Sum6).Remote(refs[0], refs[1], refs[2], 4, 5, 6).Get(Util.Long));
    }

    [Fact]
    public async Task ReferenceTypedRefArgs()
    {
        await using var rt = Util.Start();
        var s = rt.Task(DepFns.Concat).Remote("a", "b");
        Assert.Equal("abc", rt.Task(DepFns.Concat).Remote(s, rt.Put("c")).Get(Util.Long));
        var arr = rt.Put(new[] { 1, 2, 3, 4 });
        Assert.Equal(4, rt.Task(DepFns.Length).Remote(arr).Get(Util.Long));
    }

    [Fact]
    public async Task DependentTask_DoesNotRunUntilArgumentReady()
    {
        await using var rt = Util.Start();
        var key = Util.Key();
        try
        {
            var a = rt.Task(DepFns.Gated).Remote(key, 21);
            var b = rt.Task(DepFns.Record).Remote(key, a);
            Assert.True(Probe.WaitStarted(key));
            Assert.False(b.WaitReady(Util.Short));
            Assert.Equal(0, Probe.Count(key + ":ran"));
            Probe.Release(key);
            Assert.Equal(42, b.Get(Util.Long));
            Assert.Equal(1, Probe.Count(key + ":ran"));
        }
        finally { Probe.Release(key); }
    }

    [Fact]
    public async Task WaitingTask_DoesNotHoldACpu()
    {
        // With 2 CPUs: A holds one CPU (gated), B waits on A. B must not hold the second CPU,
        // so an independent C runs to completion meanwhile.
        await using var rt = Util.Start(cpus: 2);
        var key = Util.Key();
        try
        {
            var a = rt.Task(DepFns.Gated).Remote(key, 1);
            Assert.True(Probe.WaitStarted(key));
            var waiting = Enumerable.Range(0, 4).Select(_ => rt.Task(DepFns.Inc).Remote(a)).ToArray();
            var c = rt.Task(DepFns.Add).Remote(2, 3);
            Assert.Equal(5, c.Get(Util.Long));
            Assert.All(waiting, w => Assert.False(w.IsReady));
            Probe.Release(key);
            Assert.Equal(new[] { 2, 2, 2, 2 }, rt.Get(waiting, Util.Long));
        }
        finally { Probe.Release(key); }
    }

    [Fact]
    public async Task FanOutFanIn()
    {
        await using var rt = Util.Start();
        var root = rt.Task(DepFns.Inc).Remote(0);
        var mids = Enumerable.Range(0, 6).Select(i => rt.Task(DepFns.Add).Remote(root, i)).ToArray();
        var sum = rt.Task(DepFns.Sum6).Remote(mids[0], mids[1], mids[2], mids[3], mids[4], mids[5]);
        Assert.Equal(6 + 0 + 1 + 2 + 3 + 4 + 5, sum.Get(Util.Long));
    }

    [Fact]
    public async Task ArgumentRefKeptAliveByPendingTask()
    {
        // The caller drops every handle but the result; the pending task keeps its arguments alive.
        await using var rt = Util.Start();
        var key = Util.Key();
        try
        {
            var result = SubmitAndDrop(rt, key);
            Util.CollectUntil(() => false, rounds: 3);
            Probe.Release(key);
            Assert.Equal(141, result.Get(Util.Long));
        }
        finally { Probe.Release(key); }
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static ObjectRef<int> SubmitAndDrop(RayRuntime rt, string key)
    {
        var gated = rt.Task(DepFns.Gated).Remote(key, 100);
        var put = rt.Put(41);
        return rt.Task(DepFns.Add).Remote(gated, put);
    }
}
