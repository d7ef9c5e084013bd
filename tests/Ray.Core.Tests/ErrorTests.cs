namespace Ray.Core.Tests;

public sealed class CustomTaskError(string message) : Exception(message);

public static class ErrFns
{
    public static int FailingTask(int code) => throw new InvalidOperationException($"boom {code}");

    public static int PassThrough(string key, int x)
    {
        Probe.Increment(key);
        return x;
    }

    public static async Task<int> FailAsync(int code)
    {
        await Task.Yield();
        throw new CustomTaskError($"async boom {code}");
    }

    public static async Task FailAsyncNoResult()
    {
        await Task.Delay(1);
        throw new CustomTaskError("async void-ish boom");
    }

    public static void FailAction() => throw new ArgumentException("bad action");

    public static int Ok(int x) => x;
}

public sealed class TouchyActor
{
    private int _value;
    public int Add(int x) => _value += x;
    public int Fail(int x) => throw new InvalidOperationException($"actor boom {x}");
    public int Value => _value;
}

public class ErrorTests
{
    [Fact]
    public async Task TaskError_CarriesRemoteTypeMessageAndStack()
    {
        await using var rt = Util.Start();
        var r = rt.Task(ErrFns.FailingTask).Remote(42);
        var e = Assert.Throws<RayTaskException>(() => r.Get(Util.Long));
        Assert.Equal(typeof(InvalidOperationException).FullName, e.RemoteExceptionType);
        Assert.Equal("boom 42", e.RemoteMessage);
        Assert.NotNull(e.RemoteStackTrace);
        Assert.Contains(nameof(ErrFns.FailingTask), e.RemoteStackTrace);
        Assert.Contains("boom 42", e.Message);
        Assert.Contains(nameof(ErrFns.FailingTask), e.TaskName);
        Assert.False(e.IsDependencyFailure);
        Assert.IsType<InvalidOperationException>(e.InnerException);
        Assert.Equal(RayErrorCode.TaskFailed, e.Code);
        Assert.IsAssignableFrom<RayException>(e);
    }

    [Fact]
    public async Task TaskError_SurfacesThroughAwaitAndAsTask()
    {
        await using var rt = Util.Start();
        var r = rt.Task(ErrFns.FailingTask).Remote(1);
        var e1 = await Assert.ThrowsAsync<RayTaskException>(async () => await r);
        var e2 = await Assert.ThrowsAsync<RayTaskException>(() => r.AsTask().WaitAsync(Util.Long));
        Assert.Equal("boom 1", e1.RemoteMessage);
        Assert.Equal("boom 1", e2.RemoteMessage);
        // Reading again gives the same error: the failed object stays failed.
        Assert.Throws<RayTaskException>(() => r.Get(Util.Long));
    }

    [Fact]
    public async Task AsyncTaskError_KeepsUserExceptionType()
    {
        await using var rt = Util.Start();
        var e = Assert.Throws<RayTaskException>(() => rt.Task(ErrFns.FailAsync).Remote(3).Get(Util.Long));
        Assert.Equal(typeof(CustomTaskError).FullName, e.RemoteExceptionType);
        Assert.Equal("async boom 3", e.RemoteMessage);
        var e2 = Assert.Throws<RayTaskException>(() => rt.Task(ErrFns.FailAsyncNoResult).Remote().Get(Util.Long));
        Assert.Equal(typeof(CustomTaskError).FullName, e2.RemoteExceptionType);
        var e3 = Assert.Throws<RayTaskException>(() => rt.Task(ErrFns.FailAction).Remote().Get(Util.Long));
        Assert.Equal(typeof(ArgumentException).FullName, e3.RemoteExceptionType);
    }

    [Fact]
    public async Task ErrorChainsThroughDependentTasks()
    {
        await using var rt = Util.Start();
        var key = Util.Key();
        var a = rt.Task(ErrFns.FailingTask).Remote(7);
        var b = rt.Task(ErrFns.PassThrough).Remote(key, a);
        var c = rt.Task(ErrFns.PassThrough).Remote(key, b);

        var ec = Assert.Throws<RayTaskException>(() => c.Get(Util.Long));
        Assert.True(ec.IsDependencyFailure);
        var eb = Assert.IsType<RayTaskException>(ec.InnerException);
        Assert.True(eb.IsDependencyFailure);
        var ea = Assert.IsType<RayTaskException>(eb.InnerException);
        Assert.False(ea.IsDependencyFailure);
        Assert.Equal(typeof(InvalidOperationException).FullName, ea.RemoteExceptionType);
        Assert.Equal("boom 7", ea.RemoteMessage);
        Assert.Contains(nameof(ErrFns.FailingTask), ea.TaskName);
        Assert.IsType<InvalidOperationException>(ea.InnerException);
        // The root cause is visible from the outermost message too.
        Assert.Contains("boom 7", ec.Message);

        // Neither dependent ran.
        Assert.Equal(0, Probe.Count(key));
        // B's own failure is the same chain.
        var eb2 = Assert.Throws<RayTaskException>(() => b.Get(Util.Long));
        Assert.True(eb2.IsDependencyFailure);
        Assert.Equal("boom 7", Assert.IsType<RayTaskException>(eb2.InnerException).RemoteMessage);
    }

    [Fact]
    public async Task ErrorChain_WhenDependencyFailsAfterSubmission()
    {
        await using var rt = Util.Start();
        var key = Util.Key();
        try
        {
            var gate = rt.Task(DepFns.Gated).Remote(key, 5);
            var a = rt.Task(ErrFns.FailingTask).Remote(gate);
            var b = rt.Task(ErrFns.PassThrough).Remote(key + ":b", a);
            var c = rt.Task(ErrFns.PassThrough).Remote(key + ":b", b);
            Assert.False(c.WaitReady(Util.Short));
            Probe.Release(key);
            var ec = Assert.Throws<RayTaskException>(() => c.Get(Util.Long));
            var root = Util.Chain(ec).OfType<RayTaskException>().Last();
            Assert.Equal("boom 5", root.RemoteMessage);
            Assert.Equal(3, Util.Chain(ec).OfType<RayTaskException>().Count());
            Assert.Equal(0, Probe.Count(key + ":b"));
        }
        finally { Probe.Release(key); }
    }

    [Fact]
    public async Task GetMany_ThrowsWhenOneFailed()
    {
        await using var rt = Util.Start();
        var refs = new[] { rt.Task(ErrFns.Ok).Remote(1), rt.Task(ErrFns.FailingTask).Remote(2), rt.Task(ErrFns.Ok).Remote(3) };
        var e = Assert.Throws<RayTaskException>(() => rt.Get(refs, Util.Long));
        Assert.Equal("boom 2", e.RemoteMessage);
        Assert.Equal(3, refs[2].Get(Util.Long));
    }

    [Fact]
    public async Task ActorMethodError_ActorSurvives()
    {
        await using var rt = Util.Start();
        var h = rt.Actor<TouchyActor>().Remote();
        _ = h.Task((TouchyActor a, int x) => a.Add(x)).Remote(5);
        var e = Assert.Throws<RayTaskException>(() => h.Task((TouchyActor a, int x) => a.Fail(x)).Remote(9).Get(Util.Long));
        Assert.Equal(typeof(InvalidOperationException).FullName, e.RemoteExceptionType);
        Assert.Equal("actor boom 9", e.RemoteMessage);
        Assert.Contains(nameof(TouchyActor.Fail), e.RemoteStackTrace);
        Assert.True(h.IsAlive);
        Assert.Equal(8, h.Task((TouchyActor a, int x) => a.Add(x)).Remote(3).Get(Util.Long));
    }

    [Fact]
    public async Task ActorCallWithFailedRefArgument_FailsAsDependency()
    {
        await using var rt = Util.Start();
        var h = rt.Actor<TouchyActor>().Remote();
        var bad = rt.Task(ErrFns.FailingTask).Remote(11);
        var e = Assert.ThrowsAny<RayException>(() => h.Task((TouchyActor a, int x) => a.Add(x)).Remote(bad).Get(Util.Long));
        Assert.Contains(Util.Chain(e).OfType<RayTaskException>(), x => x.RemoteMessage == "boom 11");
        Assert.Equal(0, h.Task(a => a.Value).Remote().Get(Util.Long));
    }
}
