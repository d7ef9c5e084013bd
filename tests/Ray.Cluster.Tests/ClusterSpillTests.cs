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

    public static byte[] Fill(int n, int seed)
    {
        var b = new byte[n];
        new Random(seed).NextBytes(b);
        return b;
    }
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
        // Views too: each holds its object only while open.
        foreach (var i in order)
        {
            using var view = refs[i].GetView<byte>();
            Assert.Equal(digests[i], SpillFns.Digest(view.Span.ToArray()));
        }
        Assert.True(ray.Stats.ToString().Length > 0);
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
}
