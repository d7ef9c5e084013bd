namespace Ray.Cluster.Tests;

public static class Fns
{
    public static int Add(int a, int b) => a + b;
    public static int Pid() => Environment.ProcessId;
    public static string Greet(string name) => "hello " + name;
    public static int Fail(int x) => throw new InvalidOperationException("bad input " + x);
    public static double[] Scale(double[] xs, double k) => xs.Select(x => x * k).ToArray();
    public static long Sum(long[] xs) => xs.Sum();
    public static async Task<int> AddLater(int a) { await Task.Delay(1); return a + 1; }
    public static byte[] Bytes(int n, byte fill) { var b = new byte[n]; Array.Fill(b, fill); return b; }
    public static int Length(byte[] b) => b.Length;
    public static byte[] Echo(byte[] b) => b;
    public static int Nested(int x) => RayRuntime.Current.Task(Add).Remote(x, 1).Get(TimeSpan.FromSeconds(60));
    public static int NestedTwice(int x) => RayRuntime.Current.Task(Nested).Remote(x).Get(TimeSpan.FromSeconds(60)) + 100;
    public static async Task<int> NestedAsync(int x) => await RayRuntime.Current.Task(Add).Remote(x, 2);
}

[Collection("cluster")]
public sealed class ClusterTaskTests
{
    [Fact]
    public async Task Tasks_run_in_worker_processes_and_return_inline_values()
    {
        await using var cluster = await ClusterScope.StartAsync();
        await using var ray = cluster.Connect();
        Assert.True(ray.IsConnected);
        Assert.Equal(5, await ray.Task(Fns.Add).Remote(2, 3));
        var pid = await ray.Task(Fns.Pid).Remote();
        Assert.NotEqual(Environment.ProcessId, pid);
        Assert.Contains(pid, cluster.WorkerPids());
        Assert.Equal("hello ray", await ray.Task(Fns.Greet).Remote("ray"));
        Assert.Equal(8, await ray.Task(Fns.AddLater).Remote(7));
        Assert.Equal(42, await ray.Task((int x) => x * 2).Remote(21));
        // Chained through refs: the argument is the result of another task.
        var a = ray.Task(Fns.Add).Remote(1, 2);
        Assert.Equal(13, await ray.Task(Fns.Add).Remote(a, 10));
        var refs = Enumerable.Range(0, 1000).Select(i => ray.Task(Fns.Add).Remote(i, 1)).ToArray();
        var values = ray.Get(refs);
        Assert.Equal(Enumerable.Range(1, 1000), values);
    }

    [Fact]
    public async Task User_exceptions_come_back_typed_with_the_remote_type_and_message()
    {
        await using var cluster = await ClusterScope.StartAsync();
        await using var ray = cluster.Connect();
        var e = await Assert.ThrowsAsync<RayTaskException>(async () => await ray.Task(Fns.Fail).Remote(7));
        Assert.Equal(typeof(InvalidOperationException).FullName, e.RemoteExceptionType);
        Assert.Contains("bad input 7", e.RemoteMessage);
        Assert.Contains(nameof(Fns.Fail), e.RemoteStackTrace);
    }

    [Fact]
    public async Task Large_arguments_and_results_travel_through_the_node_store()
    {
        await using var cluster = await ClusterScope.StartAsync();
        await using var ray = cluster.Connect();
        var big = Enumerable.Range(0, 1 << 18).Select(i => (double)i).ToArray(); // 2 MiB
        var scaled = await ray.Task(Fns.Scale).Remote(big, 2.0);
        Assert.Equal(big.Length, scaled.Length);
        Assert.Equal(2.0 * 12345, scaled[12345]);
        var put = ray.Put(Enumerable.Range(0, 1 << 18).Select(i => (long)i).ToArray());
        Assert.Equal((long)(1 << 18) * ((1 << 18) - 1) / 2, await ray.Task(Fns.Sum).Remote(put));
        using var view = ray.Task(Fns.Scale).Remote(big, 1.0).GetView<double>();
        Assert.Equal(big.Length, view.Length);
        Assert.True(ray.Stats.SharedMemoryObjects >= 2, ray.Stats.ToString()); // the node store's counters
        GC.KeepAlive(put); // else a GC may collect the handle after its last use above and free the object first
    }

    [Fact]
    public async Task Many_medium_inline_values_both_ways_do_not_stall_the_pipeline()
    {
        await using var cluster = await ClusterScope.StartAsync();
        await using var ray = cluster.Connect();
        // ~60 KB each way per task, below the shared-memory threshold: hundreds in flight fill
        // both sockets' buffers at once, which must not deadlock the driver and the worker.
        var arg = new byte[60_000];
        var lengths = Enumerable.Range(0, 400).Select(_ => ray.Task(Fns.Length).Remote(arg)).ToArray();
        var blobs = Enumerable.Range(0, 400).Select(i => ray.Task(Fns.Bytes).Remote(60_000, (byte)i)).ToArray();
        Assert.All(ray.Get(lengths, TimeSpan.FromSeconds(60)), n => Assert.Equal(60_000, n));
        var got = ray.Get(blobs, TimeSpan.FromSeconds(60));
        for (var i = 0; i < got.Length; i++) Assert.Equal((byte)i, got[i][59_999]);
        // Both directions at once, and results feeding dependent tasks (completions on the
        // receive thread make tasks ready): the receive threads must never block on a send.
        var echoes = Enumerable.Range(0, 2000).Select(_ => ray.Task(Fns.Echo).Remote(new byte[20_000])).ToArray();
        var chained = blobs.Select(b => ray.Task(Fns.Echo).Remote(b)).ToArray();
        Assert.All(ray.Get(echoes, TimeSpan.FromSeconds(60)), b => Assert.Equal(20_000, b.Length));
        Assert.Equal(400, ray.Get(chained, TimeSpan.FromSeconds(60)).Length);
    }

    [Fact]
    public async Task Idle_leases_go_back_to_the_raylet_and_new_tasks_lease_again()
    {
        await using var cluster = await ClusterScope.StartAsync();
        await using var ray = cluster.Connect();
        Assert.Equal(3, await ray.Task(Fns.Add).Remote(1, 2));
        Assert.True(ray.Stats.Workers > 0);
        Assert.True(await ClusterScope.WaitUntilAsync(() => ray.Stats.Workers == 0, TimeSpan.FromSeconds(10)), "the idle lease was not returned");
        Assert.Equal(9, await ray.Task(Fns.Add).Remote(4, 5));
    }

    [Fact]
    public async Task Tasks_in_worker_processes_submit_nested_tasks_and_lend_their_CPU_while_they_wait()
    {
        await using var cluster = await ClusterScope.StartAsync(cpus: 2);
        await using var ray = cluster.Connect();
        // More parents than CPUs, each waiting for a child (and a grandchild): without lending
        // a blocked parent's CPU, the children could never get one.
        var parents = Enumerable.Range(0, 4).Select(i => ray.Task(Fns.Nested).Remote(i)).ToArray();
        Assert.Equal(new[] { 1, 2, 3, 4 }, ray.Get(parents, TimeSpan.FromSeconds(90)));
        Assert.Equal(107, await ray.Task(Fns.NestedTwice).Remote(6));
        Assert.Equal(12, await ray.Task(Fns.NestedAsync).Remote(10));
    }
}
