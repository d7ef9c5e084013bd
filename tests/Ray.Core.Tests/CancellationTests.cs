namespace Ray.Core.Tests;

public static class CancelFns
{
    public static int Gated(string key, int value) => Probe.Block(key, value);

    public static int Mark(string key)
    {
        Probe.Increment(key);
        return 1;
    }

    public static int MarkArg(string key, int x)
    {
        Probe.Increment(key);
        return x;
    }

    /// <summary>Runs until its cancellation token fires (or 10 s pass); records which happened.</summary>
    public static int Cooperative(string key)
    {
        Probe.Set(key + ":started");
        var token = RayContext.CancellationToken;
        var cancelled = token.WaitHandle.WaitOne(Util.Long);
        if (cancelled) Probe.Set(key + ":saw-cancel");
        return cancelled ? -1 : 1;
    }

    public static async Task<int> CooperativeAsync(string key)
    {
        var token = RayContext.CancellationToken;
        Probe.Set(key + ":started");
        try
        {
            await Task.Delay(Util.Long, token);
            return 1;
        }
        catch (OperationCanceledException)
        {
            Probe.Set(key + ":saw-cancel");
            throw;
        }
    }

    public static int RetryingThrowsOnCancel(string key)
    {
        Probe.Increment(key + ":attempts");
        Probe.Set(key + ":started");
        RayContext.CancellationToken.WaitHandle.WaitOne(Util.Long);
        throw new InvalidOperationException("stopped");
    }
}

public class CancellationTests
{
    [Fact]
    public async Task QueuedTask_NeverRuns()
    {
        await using var rt = Util.Start(cpus: 1);
        var gate = Util.Key();
        var key = Util.Key();
        try
        {
            var blocker = rt.Task(CancelFns.Gated).Remote(gate, 5);
            Assert.True(Probe.WaitStarted(gate));
            var queued = rt.Task(CancelFns.Mark).Remote(key);
            Assert.True(rt.Cancel(queued));
            var e = Assert.Throws<TaskCancelledException>(() => queued.Get(Util.Long));
            Assert.Equal(RayErrorCode.TaskCancelled, e.Code);
            Probe.Release(gate);
            Assert.Equal(5, blocker.Get(Util.Long));
            // Drain the queue behind it, then check the cancelled task never ran.
            Assert.Equal(1, rt.Task(CancelFns.Mark).Remote(key + ":other").Get(Util.Long));
            Assert.Equal(0, Probe.Count(key));
            Assert.Equal(1, rt.Stats.TasksCancelled);
            Assert.False(rt.Cancel(queued)); // already cancelled
        }
        finally { Probe.Release(gate); }
    }

    [Fact]
    public async Task RunningTask_SeesTokenAndGetThrows()
    {
        await using var rt = Util.Start();
        var key = Util.Key();
        var r = rt.Task(CancelFns.Cooperative).Remote(key);
        Assert.True(Probe.WaitFor(key + ":started"));
        Assert.True(rt.Cancel(r));
        Assert.Throws<TaskCancelledException>(() => r.Get(Util.Long));
        Assert.True(Probe.WaitFor(key + ":saw-cancel"));
        await Assert.ThrowsAsync<TaskCancelledException>(async () => await r);
        // The CPU comes back once the task returns.
        Assert.True(Util.Eventually(() => rt.Cpu() == 2));
    }

    [Fact]
    public async Task ForceCancel_Embedded_IsTheSameCooperativeCancel()
    {
        await using var rt = Util.Start();
        var key = Util.Key();
        var r = rt.Task(CancelFns.Cooperative).Remote(key);
        Assert.True(Probe.WaitFor(key + ":started"));
        Assert.True(rt.Cancel(r, force: true)); // threads cannot be stopped: the token fires
        Assert.Throws<TaskCancelledException>(() => r.Get(Util.Long));
        Assert.True(Probe.WaitFor(key + ":saw-cancel"));
        Assert.False(rt.Cancel(r, force: true));
    }

    [Fact]
    public async Task RunningAsyncTask_TokenCancelsAwait()
    {
        await using var rt = Util.Start();
        var key = Util.Key();
        var r = rt.Task(CancelFns.CooperativeAsync).Remote(key);
        Assert.True(Probe.WaitFor(key + ":started"));
        Assert.True(rt.Cancel(r));
        Assert.Throws<TaskCancelledException>(() => r.Get(Util.Long));
        Assert.True(Probe.WaitFor(key + ":saw-cancel"));
    }

    [Fact]
    public async Task CancelledRunningTask_IsNotRetried()
    {
        await using var rt = Util.Start();
        var key = Util.Key();
        var opts = new TaskOptions { MaxRetries = 5, RetryExceptions = true };
        var r = rt.Task(CancelFns.RetryingThrowsOnCancel).Options(opts).Remote(key);
        Assert.True(Probe.WaitFor(key + ":started"));
        rt.Cancel(r);
        Assert.Throws<TaskCancelledException>(() => r.Get(Util.Long));
        Assert.True(Util.Eventually(() => rt.Cpu() == 2));
        Assert.Equal(1, Probe.Count(key + ":attempts"));
        Assert.Equal(0, rt.Stats.TasksRetried);
    }

    [Fact]
    public async Task FinishedTask_CancelReturnsFalse()
    {
        await using var rt = Util.Start();
        var r = rt.Task(DepFns.Add).Remote(1, 2);
        Assert.Equal(3, r.Get(Util.Long));
        Assert.False(rt.Cancel(r));
        Assert.Equal(3, r.Get(Util.Long));
        Assert.False(rt.Cancel(rt.Put(1)));
        Assert.Equal(0, rt.Stats.TasksCancelled);
    }

    [Fact]
    public async Task TaskWaitingOnDependency_CanBeCancelled()
    {
        await using var rt = Util.Start();
        var gate = Util.Key();
        var key = Util.Key();
        try
        {
            var a = rt.Task(CancelFns.Gated).Remote(gate, 4);
            var b = rt.Task(CancelFns.MarkArg).Remote(key, a);
            Assert.True(rt.Cancel(b));
            Assert.Throws<TaskCancelledException>(() => b.Get(Util.Long));
            Probe.Release(gate);
            Assert.Equal(4, a.Get(Util.Long));
            Assert.Equal(4, rt.Task(CancelFns.MarkArg).Remote(key + ":x", a).Get(Util.Long));
            Assert.Equal(0, Probe.Count(key));
        }
        finally { Probe.Release(gate); }
    }

    [Fact]
    public async Task DependentOfCancelledTask_Fails()
    {
        await using var rt = Util.Start(cpus: 1);
        var gate = Util.Key();
        var key = Util.Key();
        try
        {
            var blocker = rt.Task(CancelFns.Gated).Remote(gate, 1);
            Assert.True(Probe.WaitStarted(gate));
            var b = rt.Task(CancelFns.Mark).Remote(key);
            var c = rt.Task(CancelFns.MarkArg).Remote(key, b);
            rt.Cancel(b);
            Probe.Release(gate);
            var e = Assert.ThrowsAny<RayException>(() => c.Get(Util.Long));
            Assert.Contains(Util.Chain(e), x => x is TaskCancelledException);
            Assert.Equal(0, Probe.Count(key));
        }
        finally { Probe.Release(gate); }
    }

    [Fact]
    public async Task CancelActorCall_Queued()
    {
        await using var rt = Util.Start();
        var key = Util.Key();
        try
        {
            var h = rt.Actor<ActorCounter>().Remote(0);
            var running = h.Task((ActorCounter c, string k) => c.Block(k)).Remote(key);
            Assert.True(Probe.WaitStarted(key));
            var queued = h.Task((ActorCounter c, int x) => c.Add(x)).Remote(10);
            var after = h.Task((ActorCounter c, int x) => c.Add(x)).Remote(1);
            Assert.True(rt.Cancel(queued));
            Probe.Release(key);
            Assert.Equal(0, running.Get(Util.Long));
            Assert.Throws<TaskCancelledException>(() => queued.Get(Util.Long));
            Assert.Equal(1, after.Get(Util.Long));
        }
        finally { Probe.Release(key); }
    }
}

public static class RecursiveCancelFns
{
    /// <summary>Submits a cooperative child and waits for it; the child's key says whether its token fired.</summary>
    public static int Parent(string key)
    {
        var child = RayRuntime.Current.Task(Child).Options(new TaskOptions { NumCpus = 0 }).Remote(key + ":child");
        Probe.Set(key + ":parent");
        try { return child.Get(Util.Long); }
        catch (TaskCancelledException) { return -1; }
    }

    /// <summary>Waits for its token or its gate; says which.</summary>
    public static int Child(string key)
    {
        Probe.Set(key + ":started");
        var fired = WaitHandle.WaitAny([RayContext.CancellationToken.WaitHandle, Probe.Event(key + ":release").WaitHandle], Util.Long);
        if (fired == 0) Probe.Set(key + ":cancelled");
        return 1;
    }
}

public class RecursiveCancellationTests
{
    [Fact]
    public async Task Cancelling_a_parent_cancels_the_tasks_it_submitted_unless_not_recursive()
    {
        await using var ray = Util.Start(cpus: 2);
        var key = Util.Key();
        var parent = ray.Task(RecursiveCancelFns.Parent).Remote(key);
        Assert.True(Probe.WaitFor(key + ":parent"));
        Assert.True(Probe.WaitStarted(key + ":child"));
        Assert.True(ray.Cancel(parent));
        await Assert.ThrowsAsync<TaskCancelledException>(async () => await parent);
        Assert.True(Probe.WaitFor(key + ":child:cancelled"), "the child's token never fired");

        var key2 = Util.Key();
        var parent2 = ray.Task(RecursiveCancelFns.Parent).Remote(key2);
        Assert.True(Probe.WaitStarted(key2 + ":child"));
        Assert.True(ray.Cancel(parent2, recursive: false));
        await Task.Delay(Util.Short);
        Assert.False(Probe.IsSet(key2 + ":child:cancelled")); // the child runs on
        Probe.Release(key2 + ":child");
    }
}
