using System.Runtime.CompilerServices;

namespace Ray.Core.Tests;

public static class RegressionFns
{
    public static int SleepThen(int ms)
    {
        Thread.Sleep(ms);
        return ms;
    }

    public static int Id(int x) => x;

    public static int One() => 1;
}

public sealed class CpuHolder
{
    public int Use(int x) => x;
    public bool InsideTask() => RayContext.IsInsideTask && RayContext.TaskId is not null;
}

/// <summary>Regressions found in review: shutdown, kill and reference-count edge cases.</summary>
public class ShutdownAndKillRegressionTests
{
    [Fact]
    public void Shutdown_WhileAViewIsRead_DoesNotCrash()
    {
        var dir = Path.Combine(Path.GetTempPath(), "ray-rg-" + Guid.NewGuid().ToString("N")[..8]);
        var rt = RayRuntime.Start(new RuntimeOptions { NumCpus = 2, ObjectStoreMemoryBytes = 32 << 20, ObjectStoreDirectory = dir });
        try
        {
            var r = rt.Put(Enumerable.Repeat(3.0, 1 << 20).ToArray());
            var view = r.GetView();
            var memory = view.Memory;
            rt.Shutdown();
            // The view was invalidated; raw spans taken before now read retired zero pages, not a fault.
            Assert.Throws<ObjectDisposedException>(() => view.Span[0]);
            Assert.Throws<ObjectDisposedException>(() => memory.Span[0]);
        }
        finally
        {
            rt.Shutdown();
            if (Directory.Exists(dir)) Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void TaskThatBecomesReadyAfterShutdown_FailsInsteadOfHanging()
    {
        var rt = Util.Start();
        var slow = rt.Task(RegressionFns.SleepThen).Remote(300);
        var dependent = rt.Task(RegressionFns.Id).Remote(slow);
        rt.Shutdown();
        var e = Assert.ThrowsAny<RayException>(() => dependent.Get(Util.Long));
        Assert.IsNotType<GetTimeoutException>(e);
    }

    [Fact]
    public async Task KillingAnActorBlockedOnAnArgument_ReleasesItsResources()
    {
        await using var rt = RayRuntime.Start(new RuntimeOptions { NumCpus = 1 });
        var actor = rt.Actor<CpuHolder>(new ActorOptions { NumCpus = 1 }).Remote();
        Assert.True(Util.Eventually(() => rt.Cpu() == 0));
        var one = rt.Task(RegressionFns.One).Remote(); // cannot run: the actor holds the only CPU
        var call = actor.Task((CpuHolder a, int x) => a.Use(x)).Remote(one);
        Thread.Sleep(100);
        rt.Kill(actor);
        Assert.Throws<ActorDiedException>(() => call.Get(Util.Long));
        Assert.Equal(1, one.Get(Util.Long)); // the CPU came back, so the task ran
        Assert.True(Util.Eventually(() => rt.Cpu() == 1 || rt.Stats.TasksFinished > 0));
    }

    [Fact]
    public async Task KillingAnActorWaitingForResources_TakesItOutOfTheQueue()
    {
        await using var rt = RayRuntime.Start(new RuntimeOptions { NumCpus = 2 });
        var a = rt.Actor<CpuHolder>(new ActorOptions { NumCpus = 1 }).Remote();
        Assert.Equal(1, a.Task((CpuHolder h, int x) => h.Use(x)).Remote(1).Get(Util.Long));
        var big = rt.Actor<CpuHolder>(new ActorOptions { NumCpus = 2 }).Remote();   // waits: only 1 CPU free
        var small = rt.Actor<CpuHolder>(new ActorOptions { NumCpus = 1 }).Remote(); // fits: not held back by big
        Assert.Equal(5, small.Task((CpuHolder h, int x) => h.Use(x)).Remote(5).Get(Util.Long));
        rt.Kill(big); // while waiting: it must never be granted later
        rt.Kill(a);
        rt.Kill(small);
        var next = rt.Actor<CpuHolder>(new ActorOptions { NumCpus = 2 }).Remote();
        Assert.Equal(7, next.Task((CpuHolder h, int x) => h.Use(x)).Remote(7).Get(Util.Long));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ObjectRef<int> PutAndFailToNest(RayRuntime rt)
    {
        var a = rt.Put(1);
        var b = rt.Put(2);
        b.Dispose();
        Assert.ThrowsAny<Exception>(() => rt.Put(new List<ObjectRef<int>> { a, b })); // b was disposed
        return a;
    }

    [Fact]
    public async Task FailedSerialization_GivesBackTheReferencesItTook()
    {
        await using var rt = Util.Start();
        var a = PutAndFailToNest(rt);
        a.Dispose();
        Assert.True(Util.CollectUntil(() => rt.Stats.ObjectsLive == 0), $"live objects: {rt.Stats.ObjectsLive}");
    }

    [Fact]
    public async Task ThreadedActorCalls_SeeTheirOwnTaskContext()
    {
        await using var rt = Util.Start();
        var actor = rt.Actor<CpuHolder>(new ActorOptions { MaxConcurrency = 2 }).Remote();
        var results = Enumerable.Range(0, 8).Select(_ => actor.Task(h => h.InsideTask()).Remote()).ToList();
        Assert.All(rt.Get(results, Util.Long), Assert.True);
    }
}
