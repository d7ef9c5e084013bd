using System.Runtime.CompilerServices;

namespace Ray.Core.Tests;

public static class StreamFns
{
    public static IEnumerable<int> Range(int n)
    {
        for (var i = 0; i < n; i++) yield return i;
    }

    public static IEnumerable<string> Empty() => [];

    /// <summary>Counts each item under <paramref name="key"/> right before yielding it.</summary>
    public static IEnumerable<int> Counted(string key, int n)
    {
        for (var i = 0; i < n; i++)
        {
            Probe.Increment(key);
            yield return i;
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

    /// <summary>Yields forever (counting under key) until stopped.</summary>
    public static IEnumerable<int> Endless(string key)
    {
        for (var i = 0; ; i++)
        {
            Probe.Increment(key);
            yield return i;
            Thread.Sleep(1);
        }
    }

    public static IAsyncEnumerable<int> RangeAsync(int n) => RangeCore(n);

    private static async IAsyncEnumerable<int> RangeCore(int n, [EnumeratorCancellation] CancellationToken token = default)
    {
        for (var i = 0; i < n; i++)
        {
            await Task.Yield();
            yield return i * 10;
        }
    }

    public static IEnumerable<byte[]> Blobs(int n, int size)
    {
        for (var i = 0; i < n; i++)
        {
            var b = new byte[size];
            b[0] = (byte)i;
            b[^1] = (byte)(i * 3);
            yield return b;
        }
    }

    /// <summary>Fails at item 2 on its first attempt only (retried with RetryExceptions).</summary>
    public static IEnumerable<int> FailOnceAt2(string key, int n)
    {
        for (var i = 0; i < n; i++)
        {
            if (i == 2 && Probe.Increment(key) == 1) throw new InvalidOperationException("first attempt");
            yield return i;
        }
    }
}

public class StreamCounter
{
    private int _calls;

    public IEnumerable<int> Count(int n)
    {
        for (var i = 0; i < n; i++) yield return ++_calls;
    }

    public async IAsyncEnumerable<string> Words(int n)
    {
        for (var i = 0; i < n; i++)
        {
            await Task.Yield();
            yield return "w" + i;
        }
    }

    public int Calls() => _calls;
}

public class StreamingReturnsTests
{
    [Fact]
    public async Task ItemsArriveInOrder_Sync()
    {
        await using var rt = Util.Start();
        using var gen = rt.Task(StreamFns.Range).RemoteStream(100);
        // Plain foreach (IEnumerable), on another thread so a broken stream fails instead of hanging.
        var values = await Task.Run(() => gen.Select(r => r.Get(Util.Long)).ToArray()).WaitAsync(Util.Long);
        Assert.Equal(Enumerable.Range(0, 100), values);
        Assert.True(gen.IsFinished);
        Assert.Equal(100, gen.ConsumedCount);
        gen.Completed.Get(Util.Long);
    }

    [Fact]
    public async Task ItemsArriveInOrder_AsyncEnumerationOfAsyncProducer()
    {
        await using var rt = Util.Start();
        using var gen = rt.Task(StreamFns.RangeAsync).RemoteStream(20);
        var values = new List<int>();
        await foreach (var r in gen.AsAsyncEnumerable().WithCancellation(new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token)) values.Add(await r);
        Assert.Equal(Enumerable.Range(0, 20).Select(i => i * 10), values);
    }

    [Fact]
    public async Task EmptyGenerator_EndsAtOnce()
    {
        await using var rt = Util.Start();
        using var gen = rt.Task(StreamFns.Empty).RemoteStream();
        Assert.Empty(gen.TakeAll());
        Assert.False(gen.TryNext(Util.Short, out _));
        Assert.True(gen.IsFinished);
        Assert.Null(await gen.NextAsync());
    }

    [Fact]
    public async Task ErrorMidStream_NextRefFails_ThenEnds()
    {
        await using var rt = Util.Start();
        using var gen = rt.Task(StreamFns.FailAt).RemoteStream(10, 3);
        var refs = gen.TakeAll();
        Assert.Equal(4, refs.Count); // items 0..2, then one failed ref at the position of the throw
        Assert.Equal([0, 1, 2], refs.Take(3).Select(r => r.Get(Util.Long)));
        var e = Assert.Throws<RayTaskException>(() => refs[3].Get(Util.Long));
        Assert.Equal(typeof(InvalidOperationException).FullName, e.RemoteExceptionType);
        Assert.Contains("boom at 3", e.RemoteMessage);
        Assert.Throws<RayTaskException>(() => gen.Completed.Get(Util.Long));
    }

    [Fact]
    public async Task Backpressure_PausesTheProducer_UntilItemsAreTaken()
    {
        await using var rt = Util.Start();
        var key = Util.Key();
        using var gen = rt.Task(StreamFns.Counted).Options(new TaskOptions { GeneratorBackpressureItems = 3 }).RemoteStream(key, 50);
        Assert.True(Util.Eventually(() => gen.ProducedCount == 3));
        Thread.Sleep(300);
        Assert.Equal(3, Probe.Count(key)); // paused before asking for the 4th item
        Assert.Equal(3, gen.ProducedCount);
        Assert.True(gen.TryNext(Util.Long, out var first));
        Assert.Equal(0, first.Get(Util.Long));
        Assert.True(Util.Eventually(() => gen.ProducedCount == 4));
        Thread.Sleep(200);
        Assert.Equal(4, Probe.Count(key));
        Assert.Equal(Enumerable.Range(1, 49), gen.GetAll());
        Assert.Equal(50, Probe.Count(key));
    }

    [Fact]
    public async Task Unbounded_ProducerRunsAhead()
    {
        await using var rt = Util.Start();
        var key = Util.Key();
        using var gen = rt.Task(StreamFns.Counted).RemoteStream(key, 50);
        gen.Completed.Get(Util.Long); // nothing taken, yet the generator finished
        Assert.Equal(50, gen.ProducedCount);
    }

    [Fact]
    public async Task NegativeBackpressure_IsRefused()
    {
        await using var rt = Util.Start();
        Assert.Throws<ArgumentOutOfRangeException>(() =>
            rt.Task(StreamFns.Range).Options(new TaskOptions { GeneratorBackpressureItems = -1 }).RemoteStream(3));
    }

    [Fact]
    public async Task Cancel_StopsTheProducer_ProducedItemsStayReadable()
    {
        await using var rt = Util.Start();
        var key = Util.Key();
        using var gen = rt.Task(StreamFns.Endless).RemoteStream(key);
        Assert.True(gen.TryNext(Util.Long, out var first));
        Assert.True(Util.Eventually(() => gen.ProducedCount >= 5));
        Assert.True(gen.Cancel());
        var after = Probe.Count(key);
        Thread.Sleep(200);
        Assert.InRange(Probe.Count(key), after, after + 1); // at most the item it was producing
        Assert.Equal(0, first.Get(Util.Long));
        var rest = gen.TakeAll();
        Assert.True(rest.Count >= 5);
        for (var i = 0; i < rest.Count - 1; i++) Assert.Equal(i + 1, rest[i].Get(Util.Long));
        Assert.Throws<TaskCancelledException>(() => rest[^1].Get(Util.Long));
        Assert.False(gen.Cancel());
    }

    [Fact]
    public async Task Dispose_StopsTheProducer_TakenRefsStayValid()
    {
        await using var rt = Util.Start();
        var key = Util.Key();
        var gen = rt.Task(StreamFns.Endless).RemoteStream(key);
        Assert.True(gen.TryNext(Util.Long, out var first));
        gen.Dispose();
        var after = Probe.Count(key);
        Thread.Sleep(200);
        Assert.InRange(Probe.Count(key), after, after + 1);
        Assert.Equal(0, first.Get(Util.Long));
        Assert.Throws<ObjectDisposedException>(() => gen.TryNext(Util.Short, out _));
    }

    [Fact]
    public async Task Cancel_WakesAPausedProducer()
    {
        await using var rt = Util.Start(cpus: 1);
        var key = Util.Key();
        using var gen = rt.Task(StreamFns.Endless).Options(new TaskOptions { GeneratorBackpressureItems = 2 }).RemoteStream(key);
        Assert.True(Util.Eventually(() => gen.ProducedCount == 2));
        Assert.True(gen.Cancel());
        // The producer's CPU comes back: another task runs on the only CPU.
        Assert.Equal(42, rt.Task(TaskFns.Zero).Remote().Get(Util.Long));
    }

    [Fact]
    public async Task TryNext_TimesOutWhileTheProducerIsSlow()
    {
        await using var rt = Util.Start();
        var key = Util.Key();
        using var gen = rt.Task(StreamFns.Counted).Options(new TaskOptions { GeneratorBackpressureItems = 1 }).RemoteStream(key, 2);
        Assert.True(gen.TryNext(Util.Long, out var a));
        Assert.True(gen.TryNext(Util.Long, out var b));
        Assert.False(gen.TryNext(Util.Long, out _));
        Assert.True(gen.IsFinished);
        Assert.Equal(1, b.Get() - a.Get());
    }

    [Fact]
    public async Task LargeItems_GoThroughTheSharedStore()
    {
        await using var rt = Util.Start();
        using var gen = rt.Task(StreamFns.Blobs).RemoteStream(4, 300_000);
        var i = 0;
        foreach (var r in gen.TakeAll())
        {
            var b = r.Get(Util.Long);
            Assert.Equal(300_000, b.Length);
            Assert.Equal((byte)i, b[0]);
            Assert.Equal((byte)(i * 3), b[^1]);
            i++;
        }
        Assert.Equal(4, i);
        Assert.True(rt.Stats.SharedMemoryObjects >= 1);
    }

    [Fact]
    public async Task RetriedGenerator_SkipsItemsSeenBefore()
    {
        await using var rt = Util.Start();
        var key = Util.Key();
        using var gen = rt.Task(StreamFns.FailOnceAt2).Options(new TaskOptions { RetryExceptions = true, MaxRetries = 1 }).RemoteStream(key, 5);
        Assert.Equal([0, 1, 2, 3, 4], gen.GetAll());
        Assert.Equal(2, Probe.Count(key));
    }

    [Fact]
    public async Task ActorGeneratorMethod_RunsInOrderWithTheActorsOtherCalls()
    {
        await using var rt = Util.Start();
        var actor = rt.Actor<StreamCounter>().Remote();
        using var gen = actor.Task((StreamCounter c, int n) => c.Count(n)).RemoteStream(5);
        var calls = actor.Task(c => c.Calls()).Remote();
        Assert.Equal([1, 2, 3, 4, 5], gen.GetAll());
        Assert.Equal(5, calls.Get(Util.Long)); // sent after the stream: ran after all of it
    }

    [Fact]
    public async Task ActorAsyncGeneratorMethod_WithBackpressure()
    {
        await using var rt = Util.Start();
        var actor = rt.Actor<StreamCounter>().Remote();
        using var gen = actor.Task((StreamCounter c, int n) => c.Words(n))
            .Options(new ActorCallOptions { GeneratorBackpressureItems = 2 }).RemoteStream(6);
        Assert.True(Util.Eventually(() => gen.ProducedCount == 2));
        Thread.Sleep(100);
        Assert.Equal(2, gen.ProducedCount);
        var words = new List<string>();
        await foreach (var r in gen.AsAsyncEnumerable().WithCancellation(new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token)) words.Add(await r);
        Assert.Equal(Enumerable.Range(0, 6).Select(i => "w" + i), words);
    }

    [Fact]
    public async Task NumReturnsOnAStream_IsRefused()
    {
        await using var rt = Util.Start();
        Assert.Throws<ArgumentException>(() => rt.Task(StreamFns.Range).Options(new TaskOptions { NumReturns = 2 }).RemoteStream(3));
    }
}

public class StreamingReturnsLifetimeTests
{
    [Fact]
    public async Task A_generator_collected_without_dispose_stops_its_producer_and_frees_its_items()
    {
        await using var rt = Util.Start();
        var key = Util.Key();
        var freedBefore = rt.Stats.ObjectsFreed;
        StartAndDrop(rt, key);
        Assert.True(Util.CollectUntil(() =>
        {
            var produced = Probe.Count(key);
            Thread.Sleep(50);
            return Probe.Count(key) == produced && rt.Stats.ObjectsFreed - freedBefore >= produced - 1; // the item being made when it stopped is never stored
        }), $"produced {Probe.Count(key)}, freed {rt.Stats.ObjectsFreed - freedBefore}");
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void StartAndDrop(RayRuntime rt, string key)
    {
        var gen = rt.Task(StreamFns.Endless).RemoteStream(key);
        Assert.True(Util.Eventually(() => gen.ProducedCount >= 3));
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
