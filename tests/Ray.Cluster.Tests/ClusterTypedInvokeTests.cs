namespace Ray.Cluster.Tests;

/// <summary>Remote functions whose result says whether reflection was on the stack that called them.</summary>
public static class TypedFns
{
    // The old path called through MethodInvoker (System.Reflection frames); the typed one through a delegate.
    internal static bool Typed() => !Environment.StackTrace.Contains("System.Reflection.", StringComparison.Ordinal);

    public static string Zero() => $"{Typed()}";
    public static string Three(int a, string b, long[] c) => $"{Typed()}:{a}{b}{c.Sum()}";
    public static string Six(int a, int b, int c, int d, int e, double f) => $"{Typed()}:{a + b + c + d + e + f}";
    public static async Task<string> ThreeLater(int a, string b, long[] c) { await Task.Delay(1); return $"{Typed()}:{a}{b}{c.Sum()}"; }
    public static void Nothing(int a) { if (a < 0) throw new ArgumentException("negative"); }
    public static async Task Faults(int a) { await Task.Delay(1); throw new InvalidOperationException("async fault " + a); }
}

/// <summary>An actor whose methods report whether reflection called them.</summary>
public sealed class TypedActor
{
    private long _sum;

    /// <summary>Adds and reports.</summary>
    public string Add(long x, string tag) => $"{TypedFns.Typed()}:{tag}{_sum += x}";

    /// <summary>Adds after an await and reports.</summary>
    public async Task<string> AddLater(long x) { await Task.Delay(1); return $"{TypedFns.Typed()}:{_sum += x}"; }

    /// <summary>Six arguments.</summary>
    public string Six(int a, int b, int c, int d, int e, int f) => $"{TypedFns.Typed()}:{a + b + c + d + e + f}";
}

[Collection("cluster")]
public sealed class ClusterTypedInvokeTests
{
    [Fact]
    public async Task Worker_processes_run_tasks_through_typed_invokers_without_reflection_per_call()
    {
        await using var cluster = await ClusterScope.StartAsync();
        await using var ray = cluster.Connect();
        Assert.Equal("True", await ray.Task(TypedFns.Zero).Remote());
        Assert.Equal("True:1x6", await ray.Task(TypedFns.Three).Remote(1, "x", new long[] { 1, 2, 3 }));
        var chained = ray.Task(TypedFns.Three).Remote(2, "y", new long[] { 4 });
        Assert.Equal("True:True:2y4", await ray.Task((string s) => $"{TypedFns.Typed()}:{s}").Remote(chained));
        Assert.Equal("True:21.5", await ray.Task(TypedFns.Six).Remote(1, 2, 3, 4, 5, 6.5));
        Assert.Equal("True:3z2", await ray.Task(TypedFns.ThreeLater).Remote(3, "z", new long[] { 2 }));
        await ray.Task(TypedFns.Nothing).Remote(1);
        var e = await Assert.ThrowsAsync<RayTaskException>(async () => await ray.Task(TypedFns.Nothing).Remote(-1));
        Assert.Equal(typeof(ArgumentException).FullName, e.RemoteExceptionType);
        e = await Assert.ThrowsAsync<RayTaskException>(async () => await ray.Task(TypedFns.Faults).Remote(4));
        Assert.Equal(typeof(InvalidOperationException).FullName, e.RemoteExceptionType);
        Assert.Contains("async fault 4", e.RemoteMessage);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    public async Task Worker_actors_run_methods_through_typed_invokers(int maxConcurrency)
    {
        await using var cluster = await ClusterScope.StartAsync();
        await using var ray = cluster.Connect();
        var actor = ray.Actor<TypedActor>(new ActorOptions { MaxConcurrency = maxConcurrency }).Remote();
        Assert.Equal("True:a5", await actor.Task((TypedActor a, long x, string t) => a.Add(x, t)).Remote(5L, "a"));
        Assert.Equal("True:7", await actor.Task((TypedActor a, long x) => a.AddLater(x)).Remote(2L));
        Assert.Equal("True:21", await actor.Task((TypedActor a, int p, int q, int r, int s, int t, int u) => a.Six(p, q, r, s, t, u)).Remote(1, 2, 3, 4, 5, 6));
    }
}
