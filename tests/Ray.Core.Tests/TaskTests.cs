namespace Ray.Core.Tests;

public static class TaskFns
{
    public static int Zero() => 42;
    public static int A1(int a) => a;
    public static int A2(int a, int b) => a + 10 * b;
    public static int A3(int a, int b, int c) => a + 10 * b + 100 * c;
    public static int A4(int a, int b, int c, int d) => a + 10 * b + 100 * c + 1000 * d;
    public static int A5(int a, int b, int c, int d, int e) => a + 10 * b + 100 * c + 1000 * d + 10000 * e;
    public static int A6(int a, int b, int c, int d, int e, int f) => a + 10 * b + 100 * c + 1000 * d + 10000 * e + 100000 * f;

    public static string Mixed(string s, double d, int[] xs, long l) => $"{s}|{d}|{string.Join(",", xs)}|{l}";

    public static void Touch(string key) => Probe.Increment(key);
    public static void Touch6(string key, int a, int b, int c, int d, int e) => Probe.Increment(key + ":" + (a + b + c + d + e));

    public static async Task<int> AddAsync(int a, int b)
    {
        await Task.Delay(1);
        return a + b;
    }

    public static async Task<int> ZeroAsync()
    {
        await Task.Yield();
        return 7;
    }

    public static async Task TouchAsync(string key)
    {
        await Task.Delay(1);
        Probe.Increment(key);
    }

    public static async Task<int> SixAsync(int a, int b, int c, int d, int e, int f)
    {
        await Task.Yield();
        return a + b + c + d + e + f;
    }

    public static bool InsideTask() => RayContext.IsInsideTask;
    public static string? CurrentTaskId() => RayContext.TaskId?.ToString();

    public static string Echo(string s) => s;
    public static int[] Range(int n) => Enumerable.Range(0, n).ToArray();

    public static int Square(int x) => x * x;

    public static void Throw() => throw new InvalidOperationException("nope");
}

public class TaskTests
{
    private int InstanceMethod(int x) => x;

    [Fact]
    public async Task ZeroArgs()
    {
        await using var rt = Util.Start();
        Assert.Equal(42, rt.Task(TaskFns.Zero).Remote().Get(Util.Long));
    }

    [Fact]
    public async Task OneToSixArgs_ArrivesInOrder()
    {
        await using var rt = Util.Start();
        Assert.Equal(1, rt.Task(TaskFns.A1).Remote(1).Get(Util.Long));
        Assert.Equal(21, rt.Task(TaskFns.A2).Remote(1, 2).Get(Util.Long));
        Assert.Equal(321, rt.Task(TaskFns.A3).Remote(1, 2, 3).Get(Util.Long));
        Assert.Equal(4321, rt.Task(TaskFns.A4).Remote(1, 2, 3, 4).Get(Util.Long));
        Assert.Equal(54321, rt.Task(TaskFns.A5).Remote(1, 2, 3, 4, 5).Get(Util.Long));
        Assert.Equal(654321, rt.Task(TaskFns.A6).Remote(1, 2, 3, 4, 5, 6).Get(Util.Long));
    }

    [Fact]
    public async Task MixedArgumentTypes()
    {
        await using var rt = Util.Start();
        var r = rt.Task(TaskFns.Mixed).Remote("s", 1.5, new[] { 1, 2, 3 }, 9_000_000_000L);
        Assert.Equal("s|1.5|1,2,3|9000000000", r.Get(Util.Long));
    }

    [Fact]
    public async Task ActionShapes_ReturnUnitAndRun()
    {
        await using var rt = Util.Start();
        var key = Util.Key();
        var r = rt.Task(TaskFns.Touch).Remote(key);
        Assert.Equal(Unit.Value, r.Get(Util.Long));
        Assert.Equal(1, Probe.Count(key));

        var r6 = rt.Task(TaskFns.Touch6).Remote(key, 1, 2, 3, 4, 5);
        r6.Get(Util.Long);
        Assert.Equal(1, Probe.Count(key + ":15"));
    }

    [Fact]
    public async Task AsyncShapes()
    {
        await using var rt = Util.Start();
        var key = Util.Key();
        Assert.Equal(7, rt.Task(TaskFns.ZeroAsync).Remote().Get(Util.Long));
        Assert.Equal(5, rt.Task(TaskFns.AddAsync).Remote(2, 3).Get(Util.Long));
        Assert.Equal(21, rt.Task(TaskFns.SixAsync).Remote(1, 2, 3, 4, 5, 6).Get(Util.Long));
        Assert.Equal(Unit.Value, rt.Task(TaskFns.TouchAsync).Remote(key).Get(Util.Long));
        Assert.Equal(1, Probe.Count(key));
    }

    [Fact]
    public async Task CaptureFreeLambdas()
    {
        await using var rt = Util.Start();
        Assert.Equal(42, rt.Task((int x) => x * 2).Remote(21).Get(Util.Long));
        Assert.Equal("ab", rt.Task((string a, string b) => a + b).Remote("a", "b").Get(Util.Long));
        Assert.Equal(3, rt.Task(() => 3).Remote().Get(Util.Long));
    }

    [Fact]
    public async Task CapturingLambdaAndInstanceMethod_AreRejected()
    {
        await using var rt = Util.Start();
        var y = Environment.ProcessorCount;
        Assert.Throws<ArgumentException>(() => rt.Task((int x) => x + y));
        Assert.Throws<ArgumentException>(() => rt.Task(InstanceMethod));
        Assert.Throws<ArgumentNullException>(() => rt.Task<Func<int>>(null!));
    }

    [Fact]
    public async Task AwaitAndAsTask()
    {
        await using var rt = Util.Start();
        var r = rt.Task(TaskFns.A2).Remote(1, 2);
        Assert.Equal(21, await r);
        Assert.Equal(21, await r.AsTask().WaitAsync(Util.Long));
        Assert.True(r.IsReady);
        Assert.True(r.WaitReady(TimeSpan.Zero));
        // Awaiting a pending ref also works.
        var slow = rt.Task(TaskFns.AddAsync).Remote(20, 22);
        Assert.Equal(42, await slow.AsTask().WaitAsync(Util.Long));
    }

    [Fact]
    public async Task ManyTasks_AllCorrect()
    {
        await using var rt = Util.Start();
        var refs = Enumerable.Range(0, 2000).Select(i => rt.Task(TaskFns.Square).Remote(i)).ToArray();
        var values = rt.Get(refs, Util.Long);
        for (var i = 0; i < values.Length; i++) Assert.Equal(i * i, values[i]);
        Assert.Equal(2000, rt.Stats.TasksSubmitted);
        // Counters may trail the results by a moment.
        Assert.True(Util.Eventually(() => rt.Stats.TasksFinished == 2000), rt.Stats.ToString());
        Assert.Equal(0, rt.Stats.TasksFailed);
    }

    [Fact]
    public async Task ReferenceResults()
    {
        await using var rt = Util.Start();
        Assert.Equal("hello", rt.Task(TaskFns.Echo).Remote("hello").Get(Util.Long));
        Assert.Equal(Enumerable.Range(0, 1000), rt.Task(TaskFns.Range).Remote(1000).Get(Util.Long));
        Assert.Empty(rt.Task(TaskFns.Range).Remote(0).Get(Util.Long));
    }

    [Fact]
    public async Task RayContext_InsideAndOutside()
    {
        await using var rt = Util.Start();
        Assert.False(RayContext.IsInsideTask);
        Assert.Null(RayContext.TaskId);
        Assert.False(RayContext.CancellationToken.CanBeCanceled);
        Assert.True(rt.Task(TaskFns.InsideTask).Remote().Get(Util.Long));
        var ids = Enumerable.Range(0, 10).Select(_ => rt.Task(TaskFns.CurrentTaskId).Remote()).ToArray();
        var values = rt.Get(ids, Util.Long);
        Assert.All(values, v => Assert.False(string.IsNullOrEmpty(v)));
        Assert.Equal(values.Length, values.Distinct().Count());
    }

    [Fact]
    public async Task RuntimeUsableAfterTaskFailure()
    {
        await using var rt = Util.Start();
        Assert.Throws<RayTaskException>(() => rt.Task(TaskFns.Throw).Remote().Get(Util.Long));
        Assert.Equal(3, rt.Task(TaskFns.A1).Remote(3).Get(Util.Long));
        Assert.True(Util.Eventually(() => rt.Stats.TasksFailed == 1), rt.Stats.ToString());
    }
}

public class ShutdownTests
{
    public sealed class Holder
    {
        public int Ping() => 1;
    }

    [Fact]
    public void SubmitAfterDispose_Throws()
    {
        var rt = Util.Start();
        Assert.Equal(1, rt.Task(TaskFns.A1).Remote(1).Get(Util.Long));
        rt.Dispose();
        Assert.True(rt.IsShutdown);
        Assert.Throws<RuntimeShutdownException>(() => rt.Task(TaskFns.A1).Remote(1));
        Assert.Throws<RuntimeShutdownException>(() => rt.Task(TaskFns.Zero).Remote());
        Assert.Throws<RuntimeShutdownException>(() => rt.Put(5));
        Assert.Throws<RuntimeShutdownException>(() => rt.Actor<Holder>().Remote());
        rt.Dispose(); // idempotent
    }

    [Fact]
    public async Task DisposeAsync_ThenSubmit_Throws()
    {
        var rt = Util.Start();
        await rt.DisposeAsync();
        Assert.Throws<RuntimeShutdownException>(() => rt.Task(TaskFns.A2).Remote(1, 2));
    }

    [Fact]
    public async Task QueuedTasks_FailWithRuntimeShutdown()
    {
        // A running task holds the only "slot", so a task needing it stays queued until shutdown.
        var rt = Util.Start(resources: new Dictionary<string, double> { ["slot"] = 1 });
        var key = Util.Key();
        var slot = new TaskOptions { NumCpus = 0, Resources = new Dictionary<string, double> { ["slot"] = 1 } };
        try
        {
            _ = rt.Task(ResFns.Gated).Options(slot).Remote(key, 7);
            Assert.True(Probe.WaitStarted(key));
            var queued = rt.Task(TaskFns.A1).Options(slot).Remote(1);
            Assert.False(queued.WaitReady(Util.Short));

            var disposing = Task.Run(rt.Dispose);
            Assert.True(Util.Eventually(() => rt.IsShutdown));
            Thread.Sleep(100); // let shutdown stop the workers before the running task frees the slot
            Probe.Release(key);
            await disposing.WaitAsync(Util.Long);
            Assert.Throws<RuntimeShutdownException>(() => queued.Get(Util.Long));
        }
        finally
        {
            Probe.Release(key);
            rt.Dispose();
        }
    }

    [Fact]
    public void ActorCallsAfterShutdown_Fail()
    {
        var rt = Util.Start();
        var h = rt.Actor<Holder>().Remote();
        Assert.Equal(1, h.Task(a => a.Ping()).Remote().Get(Util.Long));
        rt.Dispose();
        Assert.ThrowsAny<RayException>(() => h.Task(a => a.Ping()).Remote().Get(Util.Long));
        Assert.False(h.IsAlive);
    }
}
