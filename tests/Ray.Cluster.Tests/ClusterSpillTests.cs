namespace Ray.Cluster.Tests;

public static class SpillFns
{
    /// <summary>A checksum of every byte (position-weighted), so a wrong or torn object shows.</summary>
    public static long Digest(byte[] b)
    {
        long h = b.Length;
        for (var i = 0; i < b.Length; i += 4096) h = h * 31 + b[i] + i;
        return h;
    }

    /// <summary>A result larger than the whole node store.</summary>
    public static byte[] Huge(int mib) => new byte[mib << 20];

    /// <summary>A result no serializer knows.</summary>
    public static Unserializable Bad(int x) => new() { X = x };

    public static byte[] Fill(int n, int seed)
    {
        var b = new byte[n];
        new Random(seed).NextBytes(b);
        return b;
    }
}

/// <summary>Not [MemoryPackable]: cannot cross processes.</summary>
public sealed class Unserializable
{
    public int X { get; set; }
}

/// <summary>Objects past the node store's size: spilled and restored for a connected driver and its workers.</summary>
[Collection("cluster")]
public sealed class ClusterSpillTests
{
    private const int ObjectBytes = 16 << 20;
    private const int Count = 40; // 640 MiB through a 256 MiB node store

    [Fact]
    public async Task A_driver_reads_back_more_than_a_store_of_spilled_objects_in_any_order_repeatedly()
    {
        await using var cluster = await ClusterScope.StartAsync();
        await using var ray = cluster.Connect();
        var refs = new ObjectRef<byte[]>[Count];
        var digests = new long[Count];
        for (var i = 0; i < Count; i++)
        {
            var data = SpillFns.Fill(ObjectBytes, i);
            digests[i] = SpillFns.Digest(data);
            refs[i] = ray.Put(data);
        }
        var order = Enumerable.Range(0, Count).ToArray();
        for (var round = 0; round < 2; round++)
        {
            new Random(round).Shuffle(order);
            foreach (var i in order)
            {
                var got = refs[i].Get(TimeSpan.FromSeconds(60));
                Assert.Equal(ObjectBytes, got.Length);
                Assert.True(digests[i] == SpillFns.Digest(got), $"object {i} (round {round}) came back different");
            }
        }
        // Views too, from four threads at once: each holds its object only while open, and the
        // store reclaiming unused ones meanwhile never takes one in use.
        var bad = new System.Collections.Concurrent.ConcurrentBag<int>();
        Parallel.ForEach(order.Concat(order), new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
        {
            using var view = refs[i].GetView<byte>();
            var first = SpillFns.Digest(view.Span.ToArray());
            Thread.Sleep(1);
            if (first != digests[i] || SpillFns.Digest(view.Span.ToArray()) != digests[i]) bad.Add(i);
        });
        Assert.Empty(bad);
    }

    [Fact]
    public async Task Workers_read_more_than_a_store_of_spilled_objects_while_the_driver_holds_the_refs()
    {
        await using var cluster = await ClusterScope.StartAsync();
        await using var ray = cluster.Connect();
        var refs = new ObjectRef<byte[]>[Count];
        var digests = new long[Count];
        for (var i = 0; i < Count; i++)
        {
            var data = SpillFns.Fill(ObjectBytes, 1000 + i);
            digests[i] = SpillFns.Digest(data);
            refs[i] = ray.Put(data);
        }
        // The driver reads some first (holding views of them), then workers read all, twice.
        for (var i = 0; i < Count; i += 3) Assert.Equal(digests[i], SpillFns.Digest(refs[i].Get(TimeSpan.FromSeconds(60))));
        var order = Enumerable.Range(0, Count).ToArray();
        for (var round = 0; round < 2; round++)
        {
            new Random(10 + round).Shuffle(order);
            var results = order.Select(i => ray.Task(SpillFns.Digest).Remote(refs[i])).ToArray();
            var got = ray.Get(results, TimeSpan.FromSeconds(120));
            for (var k = 0; k < order.Length; k++) Assert.True(digests[order[k]] == got[k], $"object {order[k]} (round {round}) came back different in a worker");
        }
    }

    [Fact]
    public async Task A_restore_that_cannot_fit_beside_open_views_is_a_full_store_naming_sizes()
    {
        await using var cluster = await ClusterScope.StartAsync();
        await using var ray = cluster.Connect();
        const int n = 20;
        var refs = new ObjectRef<byte[]>[n];
        var digests = new long[n];
        for (var i = 0; i < n; i++)
        {
            var data = SpillFns.Fill(ObjectBytes, 2000 + i);
            digests[i] = SpillFns.Digest(data);
            refs[i] = ray.Put(data);
        }
        // Open views of the last 14 (the store holds 15 such objects): views in use are
        // never released to make room.
        var views = Enumerable.Range(n - 14, 14).Select(i => refs[i].GetView<byte>()).ToList();
        try
        {
            // One more fits; the next cannot.
            Assert.Equal(digests[0], SpillFns.Digest(refs[0].Get(TimeSpan.FromSeconds(60))));
            using (var one = refs[1].GetView<byte>())
            {
                var e = Assert.Throws<ObjectStoreFullException>(() => refs[2].Get(TimeSpan.FromSeconds(60)));
                Assert.Contains("bytes requested", e.Message);
                Assert.Contains("spilled", e.Message);
                Assert.Equal(refs[2].Id, e.ObjectId);
                // A worker given it as an argument fails the same way, naming the argument (not its result).
                var task = ray.Task(SpillFns.Digest).Remote(refs[2]);
                var w = Assert.Throws<ObjectStoreFullException>(() => task.Get(TimeSpan.FromSeconds(60)));
                Assert.Equal(refs[2].Id, w.ObjectId);
                Assert.Contains("spilled", w.Message);
                Assert.Equal(digests[1], SpillFns.Digest(one.Span.ToArray()));
            }
            for (var k = 0; k < views.Count; k++) Assert.Equal(digests[n - 14 + k], SpillFns.Digest(views[k].Span.ToArray()));
        }
        finally
        {
            foreach (var v in views) v.Dispose();
        }
        // With the views closed, every object reads back.
        for (var i = 0; i < n; i++) Assert.Equal(digests[i], SpillFns.Digest(refs[i].Get(TimeSpan.FromSeconds(60))));
    }

    [Fact]
    public async Task A_result_a_worker_cannot_store_is_that_error_and_the_worker_lives_on()
    {
        await using var cluster = await ClusterScope.StartAsync(cpus: 1);
        await using var ray = cluster.Connect();
        var pid = await ray.Task(Fns.Pid).Remote();

        // Larger than the whole 256 MiB store: the worker's create fails as a full store.
        var full = Assert.Throws<ObjectStoreFullException>(() => ray.Task(SpillFns.Huge).Remote(300).Get(TimeSpan.FromSeconds(60)));
        Assert.Contains("does not fit in the object store", full.Message);
        Assert.Contains((300L << 20).ToString(), full.Message);

        // A result no serializer knows: a serialization error, as the embedded runtime reports it.
        var ser = Assert.Throws<RaySerializationException>(() => ray.Task(SpillFns.Bad).Remote(1).Get(TimeSpan.FromSeconds(60)));
        Assert.Contains(nameof(Unserializable), ser.Message);

        // Neither killed the worker: the same process runs the next task.
        Assert.True(ClusterScope.IsAlive(pid));
        Assert.Equal(pid, await ray.Task(Fns.Pid).Remote());
        Assert.Equal(3, await ray.Task(Fns.Add).Remote(1, 2));
    }
}
