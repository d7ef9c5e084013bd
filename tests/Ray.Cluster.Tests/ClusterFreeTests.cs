namespace Ray.Cluster.Tests;

public static class FreeClusterFns
{
    public static long Sum(long[] xs) => xs.Sum();

    public static long[] SlowBig(int n)
    {
        Thread.Sleep(400);
        return Enumerable.Range(0, n).Select(i => (long)i).ToArray();
    }

    /// <summary>A worker frees its own put, then reads it.</summary>
    public static string FreeOwn(int n)
    {
        var ray = RayRuntime.Current;
        var r = ray.Put(new long[n]);
        ray.Free(r);
        try { r.Get(TimeSpan.FromSeconds(10)); return "read"; }
        catch (ObjectFreedException) { return "freed"; }
    }
}

/// <summary><see cref="RayRuntime.Free(ObjectRef[])"/> from a connected driver and in workers.</summary>
[Collection("cluster")]
public sealed class ClusterFreeTests
{
    [Fact]
    public async Task A_freed_object_leaves_the_node_store_and_tasks_taking_it_fail_typed()
    {
        await using var cluster = await ClusterScope.StartAsync();
        await using var ray = cluster.Connect();
        var big = ray.Put(Enumerable.Range(0, 200_000).Select(i => (long)i).ToArray()); // 1.6 MB: the node's store
        Assert.Equal(19_999_900_000L, await ray.Task(FreeClusterFns.Sum).Remote(big));
        Assert.Equal(1, ray.Free(big));
        Assert.True(await ClusterScope.WaitUntilAsync(() => ray.Stats.SharedMemoryObjects == 0, TimeSpan.FromSeconds(10)), ray.Stats.ToString());
        Assert.Throws<ObjectFreedException>(() => big.Get(TimeSpan.FromSeconds(10)));
        var e = await Assert.ThrowsAsync<RayTaskException>(async () => await ray.Task(FreeClusterFns.Sum).Remote(big));
        Assert.IsType<ObjectFreedException>(e.InnerException);
        GC.KeepAlive(big);
    }

    [Fact]
    public async Task A_freed_pending_result_from_a_worker_is_dropped_when_it_lands()
    {
        await using var cluster = await ClusterScope.StartAsync();
        await using var ray = cluster.Connect();
        var pending = ray.Task(FreeClusterFns.SlowBig).Remote(200_000);
        Assert.Equal(1, ray.Free(pending));
        Assert.Throws<ObjectFreedException>(() => pending.Get(TimeSpan.FromSeconds(10)));
        // The worker's result reached the node store; the driver deletes it as it lands.
        await Task.Delay(600);
        Assert.True(await ClusterScope.WaitUntilAsync(() => ray.Stats.SharedMemoryObjects == 0, TimeSpan.FromSeconds(10)), ray.Stats.ToString());
        GC.KeepAlive(pending);
    }

    [Fact]
    public async Task A_worker_frees_its_own_put()
    {
        await using var cluster = await ClusterScope.StartAsync();
        await using var ray = cluster.Connect();
        Assert.Equal("freed", await ray.Task(FreeClusterFns.FreeOwn).Remote(10));
        Assert.Equal("freed", await ray.Task(FreeClusterFns.FreeOwn).Remote(300_000)); // in the node's store
    }
}
