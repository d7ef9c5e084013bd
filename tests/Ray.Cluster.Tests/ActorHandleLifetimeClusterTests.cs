using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace Ray.Cluster.Tests;

public sealed class PidActor
{
    private int _n;
    public int Pid() => Environment.ProcessId;
    public int Slow(int ms) { Thread.Sleep(ms); return ++_n; }
}

public static class PidActorFns
{
    public static int PidVia(ActorHandle<PidActor> a) => a.Task(x => x.Pid()).Remote().Get(TimeSpan.FromSeconds(20));
}

/// <summary>An actor in a worker process ends when its driver's handles are gone (and none left the driver).</summary>
[Collection("cluster")]
public sealed class ActorHandleLifetimeClusterTests
{
    private static bool Gone(int pid)
    {
        try { using var p = Process.GetProcessById(pid); return p.HasExited; }
        catch (ArgumentException) { return true; }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (int Pid, ObjectRef<int> Last) MakeAndDrop(RayRuntime ray)
    {
        var a = ray.Actor<PidActor>(new ActorOptions { NumCpus = 1 }).Remote();
        var pid = a.Task(x => x.Pid()).Remote().Get(TimeSpan.FromSeconds(30));
        return (pid, a.Task((PidActor x, int ms) => x.Slow(ms)).Remote(300));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int MakeAndPass(RayRuntime ray)
    {
        var a = ray.Actor<PidActor>().Remote();
        return ray.Task(PidActorFns.PidVia).Remote(a).Get(TimeSpan.FromSeconds(30)); // its handle went to a worker
    }

    [Fact]
    public async Task Dropping_the_last_handle_ends_the_actor_process_after_its_calls_and_gives_its_cpu_back()
    {
        await using var cluster = await ClusterScope.StartAsync(cpus: 1);
        await using var ray = RayRuntime.Connect(cluster.SessionDir, new RuntimeOptions { EndActorsWithoutHandles = true });
        var (pid, last) = MakeAndDrop(ray);
        for (var i = 0; i < 2; i++) { GC.Collect(); GC.WaitForPendingFinalizers(); }
        Assert.Equal(1, last.Get(TimeSpan.FromSeconds(30))); // sent before the handle went: it still runs
        Assert.True(await ClusterScope.WaitUntilAsync(() => Gone(pid), TimeSpan.FromSeconds(20)), "the actor's worker is still running");
        Assert.True(await ClusterScope.WaitUntilAsync(() => ray.Stats.ActorsAlive == 0, TimeSpan.FromSeconds(10)), ray.Stats.ToString());
        // Its CPU came back: a 1-CPU actor fits again on the 1-CPU node.
        var b = ray.Actor<PidActor>(new ActorOptions { NumCpus = 1 }).Remote();
        Assert.NotEqual(pid, await b.Task(x => x.Pid()).Remote());
    }

    [Fact]
    public async Task An_actor_whose_handle_went_to_a_worker_is_kept()
    {
        await using var cluster = await ClusterScope.StartAsync();
        await using var ray = RayRuntime.Connect(cluster.SessionDir, new RuntimeOptions { EndActorsWithoutHandles = true });
        var pid = MakeAndPass(ray);
        for (var i = 0; i < 2; i++) { GC.Collect(); GC.WaitForPendingFinalizers(); }
        await Task.Delay(300);
        Assert.False(Gone(pid));
        Assert.Equal(1, ray.Stats.ActorsAlive);
    }
}
