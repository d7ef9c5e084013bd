namespace Ray.Core.Tests;

public static class MultiFns
{
    public static (int, string) Pair(int x) => (x * 2, "s" + x);
    public static (int, int, int) Three() => (1, 2, 3);
    public static (int, string, double, long, int[]) Five(int x) => (x, "b", 2.5, 9_000_000_000L, [x, x + 1]);
    public static (int, int) Fail(int x) => throw new ArgumentException("bad " + x);
    public static async Task<(string, int)> PairAsync(string s)
    {
        await Task.Yield();
        return (s + "!", s.Length);
    }
    public static (byte[], int) Large(int n) => (new byte[n], n);

    public static (int, int) FailOnce(string key) =>
        Probe.Increment(key) == 1 ? throw new InvalidOperationException("first") : (7, 8);

    public static (int, int) Blocked(string key) => (Probe.Block(key, 1), 2);
}

public class MinMax
{
    public (int Min, int Max) Of(int[] xs) => (xs.Min(), xs.Max());
}

public class MultipleReturnsTests
{
    [Fact]
    public async Task TupleGivesOneRefPerItem()
    {
        await using var rt = Util.Start();
        var (a, b) = rt.Task(MultiFns.Pair).RemoteMulti(21);
        Assert.Equal(42, a.Get(Util.Long));
        Assert.Equal("s21", b.Get(Util.Long));
        Assert.NotEqual(a.Id, b.Id);

        var (x, y, z) = rt.Task(MultiFns.Three).Options(new TaskOptions { NumReturns = 3 }).RemoteMulti();
        Assert.Equal(6, x.Get(Util.Long) + y.Get(Util.Long) + z.Get(Util.Long));

        var (f1, f2, f3, f4, f5) = rt.Task(MultiFns.Five).RemoteMulti(4);
        Assert.Equal(4, f1.Get(Util.Long));
        Assert.Equal("b", f2.Get(Util.Long));
        Assert.Equal(2.5, f3.Get(Util.Long));
        Assert.Equal(9_000_000_000L, f4.Get(Util.Long));
        Assert.Equal([4, 5], f5.Get(Util.Long));
    }

    [Fact]
    public async Task AsyncFunctionAndRefsAsArguments()
    {
        await using var rt = Util.Start();
        var (s, n) = rt.Task(MultiFns.PairAsync).RemoteMulti("ab");
        Assert.Equal("ab!", await s);
        var (doubled, _) = rt.Task(MultiFns.Pair).RemoteMulti(n); // an item's ref as another task's argument
        Assert.Equal(4, doubled.Get(Util.Long));
    }

    [Fact]
    public async Task EveryRefFailsWithTheTasksError()
    {
        await using var rt = Util.Start();
        var (a, b) = rt.Task(MultiFns.Fail).RemoteMulti(5);
        var ea = Assert.Throws<RayTaskException>(() => a.Get(Util.Long));
        var eb = Assert.Throws<RayTaskException>(() => b.Get(Util.Long));
        Assert.Same(ea, eb);
        Assert.Contains("bad 5", ea.RemoteMessage);
    }

    [Fact]
    public async Task RetriesApplyToTheWholeTask()
    {
        await using var rt = Util.Start();
        var key = Util.Key();
        var (a, b) = rt.Task(MultiFns.FailOnce).Options(new TaskOptions { RetryExceptions = true, MaxRetries = 1 }).RemoteMulti(key);
        Assert.Equal(7, a.Get(Util.Long));
        Assert.Equal(8, b.Get(Util.Long));
        Assert.Equal(2, Probe.Count(key));
    }

    [Fact]
    public async Task CancelThroughAnyItemCancelsTheTask()
    {
        await using var rt = Util.Start();
        var key = Util.Key();
        var (a, b) = rt.Task(MultiFns.Blocked).RemoteMulti(key);
        Assert.True(Probe.WaitStarted(key));
        Assert.True(rt.Cancel(b));
        Assert.Throws<TaskCancelledException>(() => a.Get(Util.Long));
        Assert.Throws<TaskCancelledException>(() => b.Get(Util.Long));
        Probe.Release(key);
    }

    [Fact]
    public async Task LargeItem_GoesToTheSharedStore()
    {
        await using var rt = Util.Start();
        var (bytes, n) = rt.Task(MultiFns.Large).RemoteMulti(500_000);
        Assert.Equal(500_000, bytes.Get(Util.Long).Length);
        Assert.Equal(500_000, n.Get(Util.Long));
    }

    [Fact]
    public async Task ActorMethod()
    {
        await using var rt = Util.Start();
        var actor = rt.Actor<MinMax>().Remote();
        var (min, max) = actor.Task((MinMax m, int[] xs) => m.Of(xs)).RemoteMulti(new[] { 3, 9, 1 });
        Assert.Equal(1, min.Get(Util.Long));
        Assert.Equal(9, max.Get(Util.Long));
        Assert.Throws<ArgumentException>(() =>
            actor.Task((MinMax m, int[] xs) => m.Of(xs)).Options(new ActorCallOptions { NumReturns = 3 }).RemoteMulti(new[] { 1 }));
    }

    [Fact]
    public async Task NumReturnsIsValidated()
    {
        await using var rt = Util.Start();
        Assert.Throws<ArgumentOutOfRangeException>(() => rt.Task(MultiFns.Pair).Options(new TaskOptions { NumReturns = 0 }).RemoteMulti(1));
        Assert.Throws<ArgumentOutOfRangeException>(() => rt.Task(MultiFns.Pair).Options(new TaskOptions { NumReturns = -2 }).Remote(1));
        var mismatch = Assert.Throws<ArgumentException>(() => rt.Task(MultiFns.Pair).Options(new TaskOptions { NumReturns = 3 }).RemoteMulti(1));
        Assert.Contains("2 items", mismatch.Message);
        var plain = Assert.Throws<ArgumentException>(() => rt.Task(MultiFns.Pair).Options(new TaskOptions { NumReturns = 2 }).Remote(1));
        Assert.Contains("RemoteMulti", plain.Message);
        // NumReturns = 1 with Remote: the tuple as one object (as Ray's num_returns=1).
        Assert.Equal((2, "s1"), rt.Task(MultiFns.Pair).Options(new TaskOptions { NumReturns = 1 }).Remote(1).Get(Util.Long));
    }
}
