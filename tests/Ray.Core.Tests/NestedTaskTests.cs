namespace Ray.Core.Tests;

public static class NestFns
{
    public static int Leaf(int x) => x * 10;

    public static int Parent(int x)
    {
        var rt = RayRuntime.Current;
        var children = Enumerable.Range(0, 3).Select(i => rt.Task(Leaf).Remote(x + i)).ToArray();
        return rt.Get(children, Util.Long).Sum();
    }

    public static int ParentSingle(int x) => RayRuntime.Current.Task(Leaf).Remote(x).Get(Util.Long);

    public static int Fib(int n)
    {
        if (n < 2) return n;
        var rt = RayRuntime.Current;
        var a = rt.Task(Fib).Remote(n - 1);
        var b = rt.Task(Fib).Remote(n - 2);
        return a.Get(Util.Long) + b.Get(Util.Long);
    }

    public static ObjectRef<int> ReturnChildRef(int x) => RayRuntime.Current.Task(Leaf).Remote(x);

    public static async Task<int> ParentAsync(int x)
    {
        var rt = RayRuntime.Current; // read before any await: continuations leave the worker
        var child = rt.Task(Leaf).Remote(x);
        return await child + 1;
    }

    public static int ParentWaits(int n)
    {
        var rt = RayRuntime.Current;
        var refs = Enumerable.Range(0, n).Select(i => rt.Task(Leaf).Remote(i)).ToArray();
        var res = rt.Wait(refs, numReturns: n, timeout: Util.Long);
        return res.Ready.Count;
    }

    public static int ParentUsesArgRef(ObjectRef<int> r) => RayRuntime.Current.Task(Leaf).Remote(r).Get(Util.Long);

    public static int PutInside(int x)
    {
        var rt = RayRuntime.Current;
        var r = rt.Put(x + 1);
        return rt.Task(Leaf).Remote(r).Get(Util.Long);
    }
}

public sealed class NestingActor
{
    public int Compute(int x) => RayRuntime.Current.Task(NestFns.Parent).Remote(x).Get(Util.Long);
}

public class NestedTaskTests
{
    [Fact]
    public async Task NestedSubmitAndGet()
    {
        await using var rt = Util.Start();
        Assert.Equal(50, rt.Task(NestFns.ParentSingle).Remote(5).Get(Util.Long));
        Assert.Equal(2, rt.Stats.TasksSubmitted); // the child went to this runtime
    }

    [Fact]
    public async Task SaturatedPool_ParentsGetChildrenWithoutDeadlock()
    {
        await using var rt = Util.Start(cpus: 2);
        var parents = Enumerable.Range(0, 4).Select(i => rt.Task(NestFns.Parent).Remote(i * 10)).ToArray();
        var values = rt.Get(parents, TimeSpan.FromSeconds(20));
        for (var i = 0; i < 4; i++) Assert.Equal((i * 10 * 3 + 3) * 10, values[i]);
        Assert.Equal(16, rt.Stats.TasksSubmitted);
        Assert.True(Util.Eventually(() => rt.Cpu() == 2));
    }

    [Fact]
    public async Task SaturatedPool_ManyParents()
    {
        await using var rt = Util.Start(cpus: 2);
        var parents = Enumerable.Range(0, 16).Select(i => rt.Task(NestFns.ParentSingle).Remote(i)).ToArray();
        Assert.Equal(Enumerable.Range(0, 16).Select(i => i * 10), rt.Get(parents, TimeSpan.FromSeconds(20)));
    }

    [Fact]
    public async Task RecursiveFib()
    {
        await using var rt = Util.Start(cpus: 2);
        Assert.Equal(21, rt.Task(NestFns.Fib).Remote(8).Get(TimeSpan.FromSeconds(20)));
    }

    [Fact]
    public async Task ReturnedChildRef()
    {
        await using var rt = Util.Start();
        var outer = rt.Task(NestFns.ReturnChildRef).Remote(4);
        Assert.Equal(40, outer.Get(Util.Long).Get(Util.Long));
    }

    [Fact]
    public async Task AsyncParentAwaitsChild()
    {
        await using var rt = Util.Start(cpus: 1);
        var parents = Enumerable.Range(0, 3).Select(i => rt.Task(NestFns.ParentAsync).Remote(i)).ToArray();
        Assert.Equal(new[] { 1, 11, 21 }, rt.Get(parents, Util.Long));
    }

    [Fact]
    public async Task NestedWaitAndPut()
    {
        await using var rt = Util.Start(cpus: 1);
        Assert.Equal(5, rt.Task(NestFns.ParentWaits).Remote(5).Get(Util.Long));
        Assert.Equal(30, rt.Task(NestFns.PutInside).Remote(2).Get(Util.Long));
    }

    [Fact]
    public async Task RefPassedToParentIsUsableByChild()
    {
        await using var rt = Util.Start();
        var r = rt.Put(7);
        Assert.Equal(70, rt.Task(NestFns.ParentUsesArgRef).Remote(r).Get(Util.Long));
    }

    [Fact]
    public async Task ActorSubmitsNestedTasks()
    {
        await using var rt = Util.Start(cpus: 2);
        var h = rt.Actor<NestingActor>().Remote();
        Assert.Equal(30, h.Task((NestingActor a, int x) => a.Compute(x)).Remote(0).Get(TimeSpan.FromSeconds(20)));
    }
}
