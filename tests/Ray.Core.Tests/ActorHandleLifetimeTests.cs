using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

namespace Ray.Core.Tests;

/// <summary>An actor that records when it ends (its Dispose runs when the actor does).</summary>
public sealed class EndingActor : IDisposable
{
    public static readonly ConcurrentDictionary<string, bool> Ended = new();
    private readonly string _key;
    private int _calls;

    public EndingActor(string key) => _key = key;

    public int Call() => ++_calls;

    public int SlowCall(int ms)
    {
        Thread.Sleep(ms);
        return ++_calls;
    }

    public void Dispose() => Ended[_key] = true;
}

public static class LifetimeFns
{
    public static int CallTwice(ActorHandle<EndingActor> a)
    {
        Thread.Sleep(300);
        a.Task(x => x.Call()).Remote().Get(Util.Long);
        return a.Task(x => x.Call()).Remote().Get(Util.Long);
    }
}

/// <summary>An actor ends when every handle to it is gone (Ray's out-of-scope actors, RuntimeOptions.EndActorsWithoutHandles).</summary>
public sealed class ActorHandleLifetimeTests
{
    private static void Collect()
    {
        for (var i = 0; i < 3; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
    }

    private static bool WaitUntil(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Util.Long;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) return false;
            Collect();
            Thread.Sleep(10);
        }
        return true;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ObjectRef<int> MakeAndCall(RayRuntime ray, string key, ActorOptions? options = null, int slowMs = 0)
    {
        var a = ray.Actor<EndingActor>(options ?? new ActorOptions()).Remote(key);
        a.Task(x => x.Call()).Remote().Get(Util.Long);
        return slowMs > 0 ? a.Task((EndingActor x, int ms) => x.SlowCall(ms)).Remote(slowMs) : a.Task(x => x.Call()).Remote();
    }

    [Fact]
    public async Task An_actor_whose_handles_are_all_gone_ends_after_its_calls_and_frees_its_name()
    {
        await using var ray = RayRuntime.Start(new RuntimeOptions { NumCpus = 2, EndActorsWithoutHandles = true });
        var key = Util.Key();
        var last = MakeAndCall(ray, key, new ActorOptions { Name = key }, slowMs: 300);
        Collect();
        Assert.Equal(2, last.Get(Util.Long)); // the call sent before the handle went still runs
        Assert.True(WaitUntil(() => EndingActor.Ended.ContainsKey(key)), "the actor did not end");
        Assert.True(WaitUntil(() => ray.Stats.ActorsAlive == 0), ray.Stats.ToString());
        Assert.Null(ray.TryGetActor<EndingActor>(key)); // the name is free again
        var again = ray.Actor<EndingActor>(new ActorOptions { Name = key }).Remote(key + "-2");
        Assert.Equal(1, again.Task(x => x.Call()).Remote().Get(Util.Long));
    }

    [Fact]
    public async Task A_live_handle_or_a_task_holding_one_keeps_the_actor()
    {
        await using var ray = RayRuntime.Start(new RuntimeOptions { NumCpus = 2, EndActorsWithoutHandles = true });
        var key = Util.Key();
        var a = ray.Actor<EndingActor>().Remote(key);
        var viaTask = ray.Task(LifetimeFns.CallTwice).Remote(a);
        var second = ray.GetActorHandleCopyForTest(a); // another handle to the same actor
        Collect();
        Thread.Sleep(100);
        Assert.False(EndingActor.Ended.ContainsKey(key));
        Assert.Equal(2, viaTask.Get(Util.Long));
        GC.KeepAlive(a);
        Assert.Equal(3, second.Task(x => x.Call()).Remote().Get(Util.Long));
        GC.KeepAlive(second);
    }

    [Fact]
    public async Task Without_the_option_an_actor_lives_on_after_its_handles_are_gone()
    {
        await using var ray = Util.Start();
        var key = Util.Key();
        MakeAndCall(ray, key, new ActorOptions { Name = key }).Get(Util.Long);
        Collect();
        Thread.Sleep(200);
        Collect();
        Assert.False(EndingActor.Ended.ContainsKey(key));
        Assert.Equal(3, ray.GetActor<EndingActor>(key).Task(x => x.Call()).Remote().Get(Util.Long));
    }

    [Fact]
    public async Task A_detached_actor_outlives_its_handles()
    {
        await using var ray = RayRuntime.Start(new RuntimeOptions { NumCpus = 2, EndActorsWithoutHandles = true });
        var key = Util.Key();
        MakeAndCall(ray, key, new ActorOptions { Name = key, Lifetime = ActorLifetime.Detached }).Get(Util.Long);
        Collect();
        Thread.Sleep(200);
        Collect();
        Assert.False(EndingActor.Ended.ContainsKey(key));
        Assert.Equal(3, ray.GetActor<EndingActor>(key).Task(x => x.Call()).Remote().Get(Util.Long));
    }
}

internal static class HandleTestExtensions
{
    /// <summary>A second handle object to the same actor (what GetActor gives for named actors).</summary>
    public static ActorHandle<T> GetActorHandleCopyForTest<T>(this RayRuntime _, ActorHandle<T> h) where T : class => new(h.Instance);
}
