using System.Diagnostics;
using Xunit;

namespace Ray.Core.Tests;

/// <summary>The async twins: no thread held, a token that stops the wait and never the task.</summary>
public class AsyncApiTests
{
    [Fact]
    public async Task GetAsync_with_a_token_stops_the_wait_not_the_task()
    {
        await using var rt = Util.Start();
        var key = Util.Key();
        var r = rt.Task(SemanticsFns.WaitThenReturn).Remote(key, 5);
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => r.GetAsync(cts.Token));
        Probe.Set(key);
        Assert.Equal(5, await r.GetAsync(CancellationToken.None)); // the task went on
        using var late = new CancellationTokenSource();
        Assert.Equal(5, await r.GetAsync(late.Token)); // already there
        late.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => rt.Put(1).GetAsync(late.Token)); // cancelled before it began
    }

    [Fact]
    public async Task A_cancelled_GetAsync_leaves_no_listener_on_its_object()
    {
        await using var rt = Util.Start();
        var key = Util.Key();
        var r = rt.Task(SemanticsFns.WaitThenReturn).Remote(key, 5);
        for (var i = 0; i < 200; i++)
        {
            using var cts = new CancellationTokenSource();
            var t = r.GetAsync(cts.Token);
            cts.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => t);
        }
        Assert.True(rt.Task(SemanticsFns.Id).Remote(1).Get(Util.Long) == 1);
        Assert.Equal(0, ListenerCount(r));
        Probe.Set(key);
        Assert.Equal(5, await r);
    }

    private static int ListenerCount(ObjectRef r)
    {
        var field = typeof(Objects.ObjectEntry).GetField("_listeners", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!;
        return field.GetValue(r.Entry) switch { null => 0, System.Collections.ICollection c => c.Count, _ => 1 };
    }

    [Fact]
    public async Task GetAsync_of_a_list_fails_as_soon_as_any_fails()
    {
        await using var rt = Util.Start();
        var key = Util.Key();
        try
        {
            var slow = rt.Task(SemanticsFns.WaitThenReturn).Remote(key, 1);
            var failing = rt.Task(SemanticsFns.Throw).Remote(2);
            var sw = Stopwatch.StartNew();
            var e = await Assert.ThrowsAnyAsync<RayTaskException>(() => rt.GetAsync([slow, failing]));
            Assert.Contains("boom 2", e.Message);
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(5));
            Assert.Equal(new[] { 3, 4 }, await rt.GetAsync([rt.Put(3), rt.Task(SemanticsFns.Id).Remote(4)]));
        }
        finally { Probe.Set(key); }
    }

    [Fact]
    public async Task WaitAsync_returns_what_is_ready_by_the_timeout_and_honours_its_token()
    {
        await using var rt = Util.Start();
        var key = Util.Key();
        try
        {
            var slow = rt.Task(SemanticsFns.WaitThenReturn).Remote(key, 1);
            var ready = rt.Put(2);
            var result = await rt.WaitAsync([slow, ready], numReturns: 2, timeout: TimeSpan.FromMilliseconds(100));
            Assert.Equal(new[] { ready }, result.Ready);
            Assert.Equal(new[] { slow }, result.NotReady);
            using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => rt.WaitAsync([slow], cancellationToken: cts.Token));
            Probe.Set(key);
            var all = await rt.WaitAsync([slow, ready], numReturns: 2);
            Assert.Equal(2, all.Ready.Count);
            Assert.Empty((await rt.WaitAsync(Array.Empty<ObjectRef<int>>())).Ready);
            await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => rt.WaitAsync([slow], numReturns: 0));
        }
        finally { Probe.Set(key); }
    }
}
