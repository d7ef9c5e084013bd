using System.Runtime.CompilerServices;

namespace Ray.Core.Tests;

public static class TraceFns
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static int OuterFrame(int x) => InnerFrame(x) + 1;

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static int InnerFrame(int x) => throw new InvalidOperationException("deep boom " + x);

    public static async Task<int> AsyncOuterFrame(int x)
    {
        await Task.Yield();
        return InnerFrame(x);
    }

    public static int Dependent(int x) => x;
}

public sealed class TraceActor
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    public int Explode(int x) => TraceFns.OuterFrame(x);
}

/// <summary>A task error's text lists the remote frames, then the driver's, and none of the runtime's dispatch.</summary>
public class RemoteTracebackTests
{
    internal static void AssertTraceback(string text, string remoteInner, string remoteOuter, string driverFrame)
    {
        var frames = text.IndexOf(" ---> ", StringComparison.Ordinal); // the message names the task too
        var inner = text.IndexOf(remoteInner, frames, StringComparison.Ordinal);
        var outer = text.IndexOf(remoteOuter, frames, StringComparison.Ordinal);
        var border = text.IndexOf("--- End of remote stack trace", StringComparison.Ordinal);
        var driver = text.IndexOf(driverFrame, border < 0 ? 0 : border, StringComparison.Ordinal);
        Assert.True(inner >= 0 && outer > inner && border > outer && driver > border, text);
        foreach (var machinery in new[] { "System.Reflection", "InvokeStub_", "RuntimeMethodHandle", "Ray.Tasks.", "Ray.Actors.", "Ray.Cluster.", "Ray.Workers.", "Ray.Runtime.", "<Remote>b__" })
            Assert.DoesNotContain(machinery, text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_task_error_shows_remote_frames_then_driver_frames_without_dispatch()
    {
        await using var rt = Util.Start();
        var e = Assert.Throws<RayTaskException>(() => rt.Task(TraceFns.OuterFrame).Remote(7).Get(Util.Long));
        AssertTraceback(e.ToString(), "TraceFns.InnerFrame", "TraceFns.OuterFrame", nameof(A_task_error_shows_remote_frames_then_driver_frames_without_dispatch));
        Assert.Contains("System.InvalidOperationException: deep boom 7", e.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("Ray.Tasks.", e.RemoteStackTrace!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_async_task_error_keeps_its_frames()
    {
        await using var rt = Util.Start();
        var e = await Assert.ThrowsAsync<RayTaskException>(async () => await rt.Task(TraceFns.AsyncOuterFrame).Remote(3));
        AssertTraceback(e.ToString(), "TraceFns.InnerFrame", "TraceFns.AsyncOuterFrame", nameof(An_async_task_error_keeps_its_frames));
        Assert.False(e.ToString().TrimEnd().EndsWith("---", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_actor_error_shows_the_method_frames()
    {
        await using var rt = Util.Start();
        var actor = rt.Actor<TraceActor>().Remote(() => new TraceActor());
        var e = Assert.Throws<RayTaskException>(() => actor.Task((TraceActor a, int x) => a.Explode(x)).Remote(5).Get(Util.Long));
        AssertTraceback(e.ToString(), "TraceFns.InnerFrame", "TraceActor.Explode", nameof(An_actor_error_shows_the_method_frames));
    }

    [Fact]
    public async Task A_dependency_failure_shows_the_root_cause_frames()
    {
        await using var rt = Util.Start();
        var failed = rt.Task(TraceFns.OuterFrame).Remote(1);
        var e = Assert.Throws<RayTaskException>(() => rt.Task(TraceFns.Dependent).Remote(failed).Get(Util.Long));
        Assert.True(e.IsDependencyFailure);
        var text = e.ToString();
        Assert.Contains("TraceFns.InnerFrame", text, StringComparison.Ordinal);
        Assert.Contains("deep boom 1", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Machinery_filter_keeps_a_stack_without_runtime_frames_as_it_was()
    {
        try { TraceFns.OuterFrame(1); }
        catch (InvalidOperationException ex)
        {
            Assert.Equal(ex.StackTrace, StackFrames.UserStack(ex));
        }
    }
}
