namespace Ray.Cluster.Tests;

public static class StreamTasks
{
    public static IEnumerable<int> Range(int n)
    {
        for (var i = 0; i < n; i++) yield return i;
    }

    public static IEnumerable<string> Empty() => [];

    public static async IAsyncEnumerable<string> Words(int n)
    {
        for (var i = 0; i < n; i++)
        {
            await Task.Yield();
            yield return "w" + i;
        }
    }

    public static IEnumerable<int> FailAt(int n, int at)
    {
        for (var i = 0; i < n; i++)
        {
            if (i == at) throw new InvalidOperationException("boom at " + i);
            yield return i;
        }
    }

    public static IEnumerable<byte[]> Blobs(int n, int size)
    {
        for (var i = 0; i < n; i++)
        {
            var b = new byte[size];
            b[0] = (byte)i;
            b[^1] = (byte)(i + 7);
            yield return b;
        }
    }

    public static IEnumerable<int> Endless()
    {
        for (var i = 0; ; i++)
        {
            yield return i;
            Thread.Sleep(2);
        }
    }

    /// <summary>Records its pid (so a test can kill it), then yields n items, slowly after the first three.</summary>
    public static IEnumerable<int> SlowAfterThree(string pidFile, int n)
    {
        File.AppendAllText(pidFile, Environment.ProcessId + "\n");
        for (var i = 0; i < n; i++)
        {
            yield return i;
            if (i >= 2) Thread.Sleep(100);
        }
    }

    public static int Pid() => Environment.ProcessId;

    public static (int, string) Pair(int x) => (x * 2, "s" + x);
    public static (int, int) FailPair(int x) => throw new ArgumentException("bad " + x);
    public static (byte[], int) LargePair(int n) => (new byte[n], n);
}

public class StreamActor
{
    private int _n;

    public IEnumerable<int> Count(int n)
    {
        for (var i = 0; i < n; i++) yield return ++_n;
    }

    public int Calls() => _n;

    public int Pid() => Environment.ProcessId;

    /// <summary>Yields n items, slowly after the first three.</summary>
    public IEnumerable<int> Slow(int n)
    {
        for (var i = 0; i < n; i++)
        {
            yield return i;
            if (i >= 2) Thread.Sleep(100);
        }
    }

    public (int Min, int Max) MinMax(int[] xs) => (xs.Min(), xs.Max());
}

[Collection("cluster")]
public sealed class StreamingReturnsClusterTests
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Items_arrive_in_order_from_a_worker_process_and_the_worker_runs_later_tasks()
    {
        await using var cluster = await ClusterScope.StartAsync(cpus: 1);
        await using var ray = cluster.Connect();
        using var gen = ray.Task(StreamTasks.Range).RemoteStream(1000);
        Assert.Equal(Enumerable.Range(0, 1000), gen.GetAll());
        Assert.True(gen.IsFinished);
        gen.Completed.Get(Long);
        // Async producer, async consumer.
        using var words = ray.Task(StreamTasks.Words).RemoteStream(5);
        var got = new List<string>();
        await foreach (var r in words.AsAsyncEnumerable().WithCancellation(new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token)) got.Add(await r);
        Assert.Equal(["w0", "w1", "w2", "w3", "w4"], got);
        // An empty generator ends at once.
        using var empty = ray.Task(StreamTasks.Empty).RemoteStream();
        Assert.Empty(empty.TakeAll());
        Assert.Equal(5, await ray.Task(Fns.Add).Remote(2, 3));
        Assert.NotEqual(Environment.ProcessId, await ray.Task(StreamTasks.Pid).Remote());
    }

    [Fact]
    public async Task An_error_mid_stream_fails_the_next_ref_with_the_remote_type()
    {
        await using var cluster = await ClusterScope.StartAsync();
        await using var ray = cluster.Connect();
        using var gen = ray.Task(StreamTasks.FailAt).RemoteStream(10, 4);
        var refs = gen.TakeAll();
        Assert.Equal(5, refs.Count);
        Assert.Equal([0, 1, 2, 3], refs.Take(4).Select(r => r.Get(Long)));
        var e = Assert.Throws<RayTaskException>(() => refs[4].Get(Long));
        Assert.Equal(typeof(InvalidOperationException).FullName, e.RemoteExceptionType);
        Assert.Contains("boom at 4", e.RemoteMessage);
    }

    [Fact]
    public async Task Backpressure_pauses_the_worker_until_the_consumer_takes_items()
    {
        await using var cluster = await ClusterScope.StartAsync();
        await using var ray = cluster.Connect();
        using var gen = ray.Task(StreamTasks.Range).Options(new TaskOptions { GeneratorBackpressureItems = 3 }).RemoteStream(40);
        Assert.True(await ClusterScope.WaitUntilAsync(() => gen.ProducedCount == 3, Long));
        await Task.Delay(400);
        Assert.Equal(3, gen.ProducedCount); // paused: nothing more crossed
        Assert.True(gen.TryNext(Long, out var first));
        Assert.Equal(0, first.Get(Long));
        Assert.True(await ClusterScope.WaitUntilAsync(() => gen.ProducedCount == 4, Long));
        await Task.Delay(300);
        Assert.Equal(4, gen.ProducedCount);
        Assert.Equal(Enumerable.Range(1, 39), gen.GetAll());
    }

    [Fact]
    public async Task Cancel_stops_the_worker_and_produced_items_stay_readable()
    {
        await using var cluster = await ClusterScope.StartAsync(cpus: 1);
        await using var ray = cluster.Connect();
        using var gen = ray.Task(StreamTasks.Endless).RemoteStream();
        Assert.True(gen.TryNext(Long, out var first));
        Assert.True(await ClusterScope.WaitUntilAsync(() => gen.ProducedCount >= 5, Long));
        Assert.True(gen.Cancel());
        var rest = gen.TakeAll();
        Assert.Throws<TaskCancelledException>(() => rest[^1].Get(Long));
        for (var i = 0; i < rest.Count - 1; i++) Assert.Equal(i + 1, rest[i].Get(Long));
        Assert.Equal(0, first.Get(Long));
        // The worker stopped the generator: the only CPU runs the next task.
        Assert.Equal(3, ray.Task(Fns.Add).Remote(1, 2).Get(Long));
    }

    [Fact]
    public async Task Large_items_go_through_the_node_store()
    {
        await using var cluster = await ClusterScope.StartAsync();
        await using var ray = cluster.Connect();
        using var gen = ray.Task(StreamTasks.Blobs).Options(new TaskOptions { GeneratorBackpressureItems = 2 }).RemoteStream(6, 400_000);
        var i = 0;
        foreach (var r in gen.TakeAll())
        {
            using (r)
            {
                var b = r.Get(Long);
                Assert.Equal(400_000, b.Length);
                Assert.Equal((byte)i, b[0]);
                Assert.Equal((byte)(i + 7), b[^1]);
            }
            i++;
        }
        Assert.Equal(6, i);
    }

    [Fact]
    public async Task A_worker_killed_mid_stream_fails_the_next_ref_with_WorkerDied()
    {
        await using var cluster = await ClusterScope.StartAsync();
        await using var ray = cluster.Connect();
        var file = Path.Combine(cluster.SessionDir, "stream-noretry");
        using var gen = ray.Task(StreamTasks.SlowAfterThree).Options(new TaskOptions { MaxRetries = 0 }).RemoteStream(file, 50);
        var taken = new List<int>();
        for (var k = 0; k < 3; k++)
        {
            Assert.True(gen.TryNext(Long, out var r));
            taken.Add(r.Get(Long));
        }
        ClusterScope.Kill(int.Parse(File.ReadAllLines(file)[0]));
        var rest = gen.TakeAll();
        Assert.Equal([0, 1, 2], taken);
        Assert.Throws<WorkerDiedException>(() => rest[^1].Get(Long));
        for (var k = 0; k < rest.Count - 1; k++) Assert.Equal(3 + k, rest[k].Get(Long));
        Assert.True(gen.IsFinished);
    }

    [Fact]
    public async Task A_retried_stream_skips_the_items_seen_before()
    {
        await using var cluster = await ClusterScope.StartAsync();
        await using var ray = cluster.Connect();
        var file = Path.Combine(cluster.SessionDir, "stream-retry");
        using var gen = ray.Task(StreamTasks.SlowAfterThree).Options(new TaskOptions { MaxRetries = 1 }).RemoteStream(file, 8);
        var values = new List<int>();
        for (var k = 0; k < 3; k++)
        {
            Assert.True(gen.TryNext(Long, out var r));
            values.Add(r.Get(Long));
        }
        ClusterScope.Kill(int.Parse(File.ReadAllLines(file)[0]));
        values.AddRange(gen.GetAll());
        Assert.Equal(Enumerable.Range(0, 8), values); // re-executed, each item once, in order
        Assert.Equal(2, File.ReadAllLines(file).Length);
        Assert.Equal(1, ray.Stats.TasksRetried);
    }

    [Fact]
    public async Task An_actor_generator_method_streams_and_keeps_the_actors_call_order()
    {
        await using var cluster = await ClusterScope.StartAsync();
        await using var ray = cluster.Connect();
        var actor = ray.Actor<StreamActor>().Remote();
        using var gen = actor.Task((StreamActor a, int n) => a.Count(n))
            .Options(new ActorCallOptions { GeneratorBackpressureItems = 2 }).RemoteStream(6);
        var calls = actor.Task(a => a.Calls()).Remote(); // queued behind the stream in the worker
        Assert.True(await ClusterScope.WaitUntilAsync(() => gen.ProducedCount == 2, Long));
        await Task.Delay(200);
        Assert.Equal(2, gen.ProducedCount);
        Assert.False(calls.IsReady);
        Assert.Equal([1, 2, 3, 4, 5, 6], gen.GetAll());
        Assert.Equal(6, calls.Get(Long));
    }

    [Fact]
    public async Task An_actor_whose_worker_dies_mid_stream_fails_the_next_ref_with_ActorDied()
    {
        await using var cluster = await ClusterScope.StartAsync();
        await using var ray = cluster.Connect();
        var actor = ray.Actor<StreamActor>().Remote();
        var pid = actor.Task(a => a.Pid()).Remote().Get(Long);
        using var gen = actor.Task((StreamActor a, int n) => a.Slow(n)).RemoteStream(50);
        for (var k = 0; k < 3; k++)
        {
            Assert.True(gen.TryNext(Long, out var r));
            Assert.Equal(k, r.Get(Long));
        }
        ClusterScope.Kill(pid);
        var rest = gen.TakeAll();
        Assert.Throws<ActorDiedException>(() => rest[^1].Get(Long));
        for (var k = 0; k < rest.Count - 1; k++) Assert.Equal(3 + k, rest[k].Get(Long));
    }

    [Fact]
    public async Task Multiple_returns_cross_processes()
    {
        await using var cluster = await ClusterScope.StartAsync();
        await using var ray = cluster.Connect();
        var (a, b) = ray.Task(StreamTasks.Pair).RemoteMulti(21);
        Assert.Equal(42, a.Get(Long));
        Assert.Equal("s21", b.Get(Long));
        var (f1, f2) = ray.Task(StreamTasks.FailPair).RemoteMulti(3);
        Assert.Contains("bad 3", Assert.Throws<RayTaskException>(() => f1.Get(Long)).RemoteMessage);
        Assert.Equal(typeof(ArgumentException).FullName, Assert.Throws<RayTaskException>(() => f2.Get(Long)).RemoteExceptionType);
        var (bytes, n) = ray.Task(StreamTasks.LargePair).RemoteMulti(300_000);
        Assert.Equal(300_000, bytes.Get(Long).Length);
        Assert.Equal(300_000, n.Get(Long));
        var actor = ray.Actor<StreamActor>().Remote();
        var (min, max) = actor.Task((StreamActor s, int[] xs) => s.MinMax(xs)).RemoteMulti(new[] { 4, -2, 9 });
        Assert.Equal(-2, min.Get(Long));
        Assert.Equal(9, max.Get(Long));
        Assert.Throws<ArgumentException>(() => ray.Task(StreamTasks.Pair).Options(new TaskOptions { NumReturns = 3 }).RemoteMulti(1));
    }
}

/// <summary>Takes every ref of a stream with a bound per item: a broken stream fails the test instead of hanging it.</summary>
internal static class GeneratorTestExtensions
{
    public static List<ObjectRef<T>> TakeAll<T>(this ObjectRefGenerator<T> gen, TimeSpan? perItem = null)
    {
        var refs = new List<ObjectRef<T>>();
        while (gen.TryNext(perItem ?? TimeSpan.FromSeconds(30), out var r)) refs.Add(r);
        if (!gen.IsFinished) throw new TimeoutException($"no item or end of stream within {perItem ?? TimeSpan.FromSeconds(30)} after {refs.Count} items");
        return refs;
    }

    public static List<T> GetAll<T>(this ObjectRefGenerator<T> gen) => gen.TakeAll().Select(r => r.Get(TimeSpan.FromSeconds(30))).ToList();
}
