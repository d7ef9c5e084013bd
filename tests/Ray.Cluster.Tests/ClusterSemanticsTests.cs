using System.Diagnostics;

namespace Ray.Cluster.Tests;

public static class SemanticsFns
{
    public static int Id(int x) => x;
    public static int Sleep(int ms) { Thread.Sleep(ms); return ms; }
    public static int Throw(int x) => throw new InvalidOperationException("boom " + x);
}

public sealed class Idle
{
    public int Ping() => 1;
}

/// <summary>Where we differed from Ray (issue 13's list), in process mode on a real raylet.</summary>
[Collection("cluster")]
public sealed class ClusterSemanticsTests
{
    [Fact]
    public async Task A_node_with_no_cpus_puts_gets_and_runs_zero_cpu_tasks()
    {
        await using var cluster = await ClusterScope.StartAsync(cpus: 0);
        await using var ray = cluster.Connect();
        Assert.Equal(7, ray.Put(7).Get(TimeSpan.FromSeconds(10)));
        Assert.Equal(3, await ray.Task(SemanticsFns.Id).Options(new TaskOptions { NumCpus = 0 }).Remote(3));
        Assert.Throws<ResourcesUnsatisfiableException>(() => ray.Task(SemanticsFns.Id).Remote(1));
        Assert.Empty(ray.Wait(Array.Empty<ObjectRef<int>>()).Ready);
    }

    [Fact]
    public async Task Get_of_a_list_fails_as_soon_as_a_later_task_fails_in_its_worker()
    {
        await using var cluster = await ClusterScope.StartAsync(cpus: 2);
        await using var ray = cluster.Connect();
        var slow = ray.Task(SemanticsFns.Sleep).Remote(15_000);
        var failing = ray.Task(SemanticsFns.Throw).Remote(2);
        var sw = Stopwatch.StartNew();
        var e = Assert.ThrowsAny<RayTaskException>(() => ray.Get([slow, failing], TimeSpan.FromSeconds(30)));
        Assert.Contains("boom 2", e.Message);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), $"took {sw.Elapsed}: waited for the earlier task first");
        ray.Cancel(slow, force: true);
    }

    [Fact]
    public async Task A_driver_with_many_actors_waiting_for_a_lease_shuts_down_quickly()
    {
        await using var cluster = await ClusterScope.StartAsync(cpus: 1);
        var ray = cluster.Connect();
        var actors = Enumerable.Range(0, 30).Select(_ => ray.Actor<Idle>(new ActorOptions { NumCpus = 1 }).Remote()).ToList();
        Assert.Equal(1, await actors[0].Task(a => a.Ping()).Remote());
        var sw = Stopwatch.StartNew();
        await ray.DisposeAsync();
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(3), $"shutdown took {sw.Elapsed}"); // ~1 s now; 4.3 s before the fix (25-125 s for 100)
    }
}

public class ShapeException(string message) : Exception(message);

public sealed class SquareException(string message) : ShapeException(message);

public sealed class NoMessageCtorException() : Exception("no message constructor");

public static class ThrowingFns
{
    public static int Divide(int a, int b) => a / b;
    public static int Square(int x) => throw new SquareException("square " + x);
    public static int Odd(int x) => throw new NoMessageCtorException();

    /// <summary>Throws a SquareException on the first <paramref name="failures"/> attempts (counted in a file: attempts run in different processes).</summary>
    public static int SquareUntil(string counterFile, int failures)
    {
        File.AppendAllText(counterFile, "x");
        if (File.ReadAllText(counterFile).Length <= failures) throw new SquareException("attempt");
        return File.ReadAllText(counterFile).Length;
    }
}

[Collection("cluster")]
public sealed class ClusterRemoteErrorTests
{
    [Fact]
    public async Task A_task_error_from_a_worker_is_caught_as_its_own_type_as_embedded()
    {
        await using var cluster = await ClusterScope.StartAsync(cpus: 1);
        await using var ray = cluster.Connect();
        var divide = Assert.Throws<RayTaskException>(() => ray.Task(ThrowingFns.Divide).Remote(1, 0).Get(TimeSpan.FromSeconds(30)));
        Assert.IsType<DivideByZeroException>(divide.InnerException);
        Assert.IsType<DivideByZeroException>(divide.RootCause.InnerException);
        var square = Assert.Throws<RayTaskException>(() => ray.Task(ThrowingFns.Square).Remote(3).Get(TimeSpan.FromSeconds(30)));
        var inner = Assert.IsType<SquareException>(square.InnerException);
        Assert.Equal("square 3", inner.Message);
        Assert.IsAssignableFrom<ShapeException>(inner);
        // A type this process cannot make from a message: named, with its message and remote stack.
        var odd = Assert.Throws<RayTaskException>(() => ray.Task(ThrowingFns.Odd).Remote(1).Get(TimeSpan.FromSeconds(30)));
        var remote = Assert.IsType<RemoteException>(odd.InnerException);
        Assert.Equal(typeof(NoMessageCtorException).FullName, remote.TypeName);
        Assert.Contains(nameof(ThrowingFns.Odd), remote.RemoteStackTrace);
    }

    [Fact]
    public async Task Retry_filters_retry_subclasses_of_a_listed_type_in_process_mode()
    {
        await using var cluster = await ClusterScope.StartAsync(cpus: 1);
        await using var ray = cluster.Connect();
        var counter = Path.Combine(cluster.SessionDir, "attempts");
        var options = new TaskOptions { MaxRetries = 3, RetryExceptionTypes = [typeof(ShapeException)] };
        Assert.Equal(3, await ray.Task(ThrowingFns.SquareUntil).Options(options).Remote(counter, 2));
        var other = new TaskOptions { MaxRetries = 3, RetryExceptionTypes = [typeof(ArgumentException)] };
        var counter2 = Path.Combine(cluster.SessionDir, "attempts2");
        Assert.Throws<RayTaskException>(() => ray.Task(ThrowingFns.SquareUntil).Options(other).Remote(counter2, 2).Get(TimeSpan.FromSeconds(30)));
        Assert.Equal(1, File.ReadAllText(counter2).Length);
    }
}

[Collection("cluster")]
public sealed class ClusterAsyncApiTests
{
    [Fact]
    public async Task ConnectAsync_then_async_waits_on_worker_results()
    {
        await using var cluster = await ClusterScope.StartAsync(cpus: 2);
        await using var ray = await RayRuntime.ConnectAsync(cluster.SessionDir);
        Assert.True(ray.IsConnected);
        var slow = ray.Task(SemanticsFns.Sleep).Remote(3000);
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => slow.GetAsync(cts.Token));
        Assert.Equal(3000, await slow.GetAsync()); // the wait was cancelled, not the task
        var refs = Enumerable.Range(0, 8).Select(i => ray.Task(SemanticsFns.Id).Remote(i)).ToArray();
        Assert.Equal(Enumerable.Range(0, 8), await ray.GetAsync(refs));
        Assert.Equal(8, (await ray.WaitAsync(refs, numReturns: 8)).Ready.Count);
    }

    [Fact]
    public async Task ConnectAsync_to_nothing_fails_and_a_cancelled_connect_throws_cancelled()
    {
        await Assert.ThrowsAsync<RayClusterException>(() => RayRuntime.ConnectAsync("127.0.0.1:1", token: "x"));
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        await using var cluster = await ClusterScope.StartAsync(cpus: 1);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => RayRuntime.ConnectAsync(cluster.SessionDir, cancellationToken: cts.Token));
    }
}

public sealed class SlowStart
{
    public SlowStart(int ms) => Thread.Sleep(ms);
    public int Pid() => Environment.ProcessId;
}

[Collection("cluster")]
public sealed class ClusterActorRestartTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public async Task Calls_made_while_an_actor_restarts_fail_fast_only_with_no_task_retries(int maxTaskRetries)
    {
        await using var cluster = await ClusterScope.StartAsync(cpus: 2);
        await using var ray = cluster.Connect();
        var actor = ray.Actor<SlowStart>(new ActorOptions { MaxRestarts = 1, MaxTaskRetries = maxTaskRetries }).Remote(2500);
        var pid = await actor.Task(a => a.Pid()).Remote();
        ClusterScope.Kill(pid);
        if (maxTaskRetries == 0)
        {
            // Until the driver sees the death a call is lost with the worker (also ActorDied); once
            // the restart (a 2.5 s constructor) is under way, a call fails at once, saying so.
            var failedFast = false;
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
            while (!failedFast && DateTime.UtcNow < deadline)
            {
                var sw = Stopwatch.StartNew();
                var call = actor.Task(a => a.Pid()).Remote();
                try
                {
                    if (call.Get(TimeSpan.FromSeconds(20)) != pid) break; // restarted already: the window was missed
                }
                catch (ActorDiedException e) when (e.Message.Contains("restarting"))
                {
                    Assert.True(sw.Elapsed < TimeSpan.FromSeconds(1.5), $"failed after {sw.Elapsed}: it waited for the restart");
                    failedFast = true;
                }
                catch (ActorDiedException) { await Task.Delay(20); } // lost with the dead worker
            }
            Assert.True(failedFast, "no call made during the restart failed fast");
        }
        else
        {
            await Task.Delay(500);
            Assert.NotEqual(pid, actor.Task(a => a.Pid()).Remote().Get(TimeSpan.FromSeconds(20))); // waited for the restarted actor
        }
        Assert.True(await ClusterScope.WaitUntilAsync(() =>
        {
            try { return actor.Task(a => a.Pid()).Remote().Get(TimeSpan.FromSeconds(20)) != pid; }
            catch (ActorDiedException) { return false; }
        }, TimeSpan.FromSeconds(30)), "the actor came back");
    }
}

public static class ChainFns
{
    /// <summary>A chain of nested blocking tasks, <paramref name="depth"/> deep: each waits in Get for its child.</summary>
    public static int Chain(int depth) =>
        depth == 0 ? Environment.ProcessId : RayRuntime.Current.Task(Chain).Remote(depth - 1).Get(TimeSpan.FromSeconds(90));
}

[Collection("cluster")]
public sealed class ClusterNestedChainTests
{
    [Fact]
    public async Task A_chain_of_blocking_tasks_deeper_than_the_worker_cap_completes()
    {
        // One CPU: the raylet's cap is 4 worker processes; a 6-deep chain needs 6, five of them
        // blocked in Get. Blocked workers do not count against the cap (they used to: it hung).
        await using var cluster = await ClusterScope.StartAsync(cpus: 1);
        await using var ray = cluster.Connect();
        var leaf = ray.Task(ChainFns.Chain).Remote(6).Get(TimeSpan.FromSeconds(90));
        Assert.True(leaf > 0);
    }
}

[Collection("cluster")]
public sealed class ClusterSchedulingOrderTests
{
    [Fact]
    public async Task A_lease_request_that_does_not_fit_does_not_block_a_later_one_that_does()
    {
        await using var cluster = await ClusterScope.StartAsync(cpus: 1);
        await using var ray = cluster.Connect();
        var first = ray.Actor<Idle>(new ActorOptions { NumCpus = 0.5 }).Remote();
        Assert.Equal(1, await first.Task(a => a.Ping()).Remote());
        var big = ray.Actor<Idle>(new ActorOptions { NumCpus = 0.7 }).Remote();
        var small = ray.Actor<Idle>(new ActorOptions { NumCpus = 0.3 }).Remote();
        Assert.Equal(1, small.Task(a => a.Ping()).Remote().Get(TimeSpan.FromSeconds(20)));
        var bigCall = big.Task(a => a.Ping()).Remote();
        Assert.False(bigCall.WaitReady(TimeSpan.FromMilliseconds(300)));
        ray.Kill(first);
        Assert.Equal(1, bigCall.Get(TimeSpan.FromSeconds(20)));
    }
}

[Collection("cluster")]
public sealed class ClusterTerminateTests
{
    [Fact]
    public async Task Terminate_in_a_worker_process_finishes_earlier_calls_and_does_not_restart()
    {
        await using var cluster = await ClusterScope.StartAsync(cpus: 2);
        await using var ray = cluster.Connect();
        var h = ray.Actor<Counter>(new ActorOptions { MaxRestarts = 3 }).Remote(0L);
        var pid = await h.Task((Counter c) => c.Pid()).Remote();
        var earlier = Enumerable.Range(0, 20).Select(i => h.Task((Counter c, long x) => c.Add(x)).Remote(1L)).ToList();
        var ended = ray.Terminate(h);
        var later = h.Task((Counter c, long x) => c.Add(x)).Remote(1L);
        ended.Get(TimeSpan.FromSeconds(30));
        Assert.Equal(20L, ray.Get(earlier, TimeSpan.FromSeconds(30)).Max());
        Assert.Throws<ActorDiedException>(() => later.Get(TimeSpan.FromSeconds(30)));
        Assert.True(await ClusterScope.WaitUntilAsync(() => !File.Exists($"/proc/{pid}/status") || File.ReadAllText($"/proc/{pid}/status").Contains("State:\tZ"), TimeSpan.FromSeconds(20)),
            "the actor's worker process is gone");
        Assert.Throws<ActorDiedException>(() => h.Task((Counter c) => c.Value()).Remote().Get(TimeSpan.FromSeconds(30))); // not restarted
    }
}

[Collection("cluster")]
public sealed class ClusterTypedConstructorTests
{
    [Fact]
    public async Task A_compiler_checked_constructor_call_makes_the_actor_in_a_worker_process()
    {
        await using var cluster = await ClusterScope.StartAsync(cpus: 1);
        await using var ray = cluster.Connect();
        long start = 5;
        var h = ray.Actor<Counter>().Remote(() => new Counter(start * 2));
        Assert.Equal(11L, await h.Task((Counter c, long x) => c.Add(x)).Remote(1L));
        Assert.NotEqual(Environment.ProcessId, await h.Task((Counter c) => c.Pid()).Remote());
    }
}
