using System.Runtime.CompilerServices;

namespace Ray.Cluster.Tests.Observability;

public static class ClusterTraceFns
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static int OuterFrame(int x) => InnerFrame(x) + 1;

    [MethodImpl(MethodImplOptions.NoInlining)]
    public static int InnerFrame(int x) => throw new InvalidOperationException("worker boom " + x);
}

public sealed class ClusterTraceActor
{
    [MethodImpl(MethodImplOptions.NoInlining)]
    public int Explode(int x) => ClusterTraceFns.OuterFrame(x);
}

/// <summary>A task error from a worker process prints the worker's frames, then the driver's, and none of the call loop.</summary>
[Collection("cluster")]
public sealed class RemoteTracebackClusterTests
{
    private static void AssertTraceback(string text, string remoteInner, string remoteOuter, string driverFrame)
    {
        var frames = text.IndexOf(" ---> ", StringComparison.Ordinal); // the message names the task too
        var inner = text.IndexOf(remoteInner, frames, StringComparison.Ordinal);
        var outer = text.IndexOf(remoteOuter, frames, StringComparison.Ordinal);
        var border = text.IndexOf("--- End of remote stack trace", StringComparison.Ordinal);
        var driver = text.IndexOf(driverFrame, border < 0 ? 0 : border, StringComparison.Ordinal);
        Assert.True(inner >= 0 && outer > inner && border > outer && driver > border, text);
        foreach (var machinery in new[] { "System.Reflection", "InvokeStub_", "RuntimeMethodHandle", "Ray.Tasks.", "Ray.Actors.", "Ray.Cluster.WorkerSide", "Ray.Cluster.Driver", "Ray.Workers.", "Ray.Runtime.", "<Remote>b__" })
            Assert.DoesNotContain(machinery, text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Task_and_actor_errors_show_worker_frames_then_driver_frames()
    {
        await using var cluster = await ClusterScope.StartAsync();
        await using var ray = cluster.Connect();
        var e = Assert.Throws<RayTaskException>(() => ray.Task(ClusterTraceFns.OuterFrame).Remote(4).Get(TimeSpan.FromSeconds(30)));
        var text = e.ToString();
        AssertTraceback(text, "ClusterTraceFns.InnerFrame", "ClusterTraceFns.OuterFrame", nameof(Task_and_actor_errors_show_worker_frames_then_driver_frames));
        Assert.Contains("System.InvalidOperationException: worker boom 4", text, StringComparison.Ordinal);
        Assert.IsType<InvalidOperationException>(e.InnerException);

        var actor = ray.Actor<ClusterTraceActor>().Remote(() => new ClusterTraceActor());
        var a = Assert.Throws<RayTaskException>(() => actor.Task((ClusterTraceActor c, int x) => c.Explode(x)).Remote(6).Get(TimeSpan.FromSeconds(30)));
        AssertTraceback(a.ToString(), "ClusterTraceFns.InnerFrame", "ClusterTraceActor.Explode", nameof(Task_and_actor_errors_show_worker_frames_then_driver_frames));
    }
}
