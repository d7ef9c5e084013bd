namespace Ray.Cluster.Tests;

/// <summary>
/// A connected driver's puts of objects that fit its region (2 MiB here: the 256 MiB node store
/// gives it 16 MiB regions) take no round trip: sealed one way, read back through the view the
/// put kept, by workers (whose Get waits for the seal), after spilling, and freed one way; a
/// freed object's block is taken back for the next put, never one a worker has read.
/// </summary>
[Collection("cluster")]
public sealed class ClusterRegionPutTests
{
    private const int ObjectBytes = 2 << 20;

    [Fact]
    public async Task Region_puts_are_read_by_the_driver_and_workers_at_once_and_freed()
    {
        await using var cluster = await ClusterScope.StartAsync();
        await using var ray = cluster.Connect();
        for (var i = 0; i < 30; i++)
        {
            var data = SpillFns.Fill(ObjectBytes, i);
            using var r = ray.Put(data);
            using (var view = r.GetView()) Assert.True(view.Span.SequenceEqual(data), $"object {i} in the driver");
            // Straight to a worker: its Get of the id sees the object sealed.
            Assert.Equal(SpillFns.Digest(data), ray.Task(SpillFns.Digest).Remote(r).Get(TimeSpan.FromSeconds(60)));
        }
        // Every object freed: the store holds none of them once the frees (one way) arrive.
        Assert.True(await ClusterScope.WaitUntilAsync(() => ray.Stats.SharedMemoryObjects == 0, TimeSpan.FromSeconds(10)), ray.Stats.ToString());
    }

    [Fact]
    public async Task Region_puts_past_the_store_spill_and_read_back_in_any_order()
    {
        await using var cluster = await ClusterScope.StartAsync();
        await using var ray = cluster.Connect();
        const int count = 200; // 400 MiB through a 256 MiB node store
        var refs = new ObjectRef<byte[]>[count];
        var digests = new long[count];
        for (var i = 0; i < count; i++)
        {
            var data = SpillFns.Fill(ObjectBytes, 500 + i);
            digests[i] = SpillFns.Digest(data);
            refs[i] = ray.Put(data);
        }
        Assert.True(ray.Stats.SpilledBytes > 0, ray.Stats.ToString());
        var order = Enumerable.Range(0, count).ToArray();
        new Random(3).Shuffle(order);
        foreach (var i in order) Assert.True(digests[i] == SpillFns.Digest(refs[i].Get(TimeSpan.FromSeconds(60))), $"object {i}");
        var some = order.Take(20).ToArray();
        var got = ray.Get(some.Select(i => ray.Task(SpillFns.Digest).Remote(refs[i])).ToArray(), TimeSpan.FromSeconds(120));
        for (var k = 0; k < some.Length; k++) Assert.Equal(digests[some[k]], got[k]);
        foreach (var r in refs) r.Dispose();
        Assert.True(await ClusterScope.WaitUntilAsync(() => ray.Stats.SharedMemoryObjects == 0, TimeSpan.FromSeconds(20)), ray.Stats.ToString());
    }

    [Fact]
    public async Task A_put_and_free_loop_reuses_its_blocks_and_never_the_block_of_an_object_a_worker_read()
    {
        await using var cluster = await ClusterScope.StartAsync();
        await using var ray = cluster.Connect();
        for (var i = 0; i < 15; i++)
        {
            var data = SpillFns.Fill(ObjectBytes, 1000 + i);
            using var r = ray.Put(data);
            var digest = ray.Task(SpillFns.Digest).Remote(r); // a worker reads it: its block is shared
            // Meanwhile put and free: each freed block is taken back for the next put at once.
            for (var j = 0; j < 8; j++)
            {
                var other = SpillFns.Fill(ObjectBytes, 2000 + j);
                using var t = ray.Put(other);
                using var v = t.GetView();
                Assert.True(v.Span.SequenceEqual(other), $"object {i}.{j}");
            }
            Assert.Equal(SpillFns.Digest(data), digest.Get(TimeSpan.FromSeconds(60)));
            using (var view = r.GetView()) Assert.True(view.Span.SequenceEqual(data), $"object {i} changed under the driver");
        }
        Assert.True(await ClusterScope.WaitUntilAsync(() => ray.Stats.SharedMemoryObjects == 0, TimeSpan.FromSeconds(10)), ray.Stats.ToString());
    }
}
