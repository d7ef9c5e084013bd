namespace Ray.Core.Tests;

public static class FreeFns
{
    public static long Sum(long[] xs) => xs.Sum();

    public static long[] SlowRamp(int n)
    {
        Thread.Sleep(300);
        return Enumerable.Range(0, n).Select(i => (long)i).ToArray();
    }

    public static string Inner(List<ObjectRef<long[]>> refs)
    {
        try { return "value " + refs[0].Get(Util.Long).Length; }
        catch (ObjectFreedException) { return "freed"; }
    }
}

/// <summary><see cref="RayRuntime.Free(ObjectRef[])"/>: explicit frees while references remain (Ray's <c>free</c>).</summary>
public sealed class FreeTests
{
    private static RayRuntime StartStore(out string dir)
    {
        dir = Path.Combine(Path.GetTempPath(), "ray-free-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        return RayRuntime.Start(new RuntimeOptions { NumCpus = 2, ObjectStoreMemoryBytes = 64 << 20, ObjectStoreDirectory = dir });
    }

    [Fact]
    public async Task A_freed_small_object_fails_later_gets_with_a_typed_error()
    {
        await using var ray = Util.Start();
        var r = ray.Put(new long[] { 1, 2, 3 });
        var s = ray.Put("text");
        Assert.Equal(2, ray.Free(r, s));
        var e = Assert.Throws<ObjectFreedException>(() => r.Get(Util.Long));
        Assert.Equal(r.Id, e.ObjectId);
        Assert.Equal(RayErrorCode.ObjectFreed, e.Code);
        Assert.IsAssignableFrom<ObjectLostException>(e); // as Ray's ObjectFreedError is an ObjectLostError
        Assert.Throws<ObjectFreedException>(() => s.Get(Util.Long));
        await Assert.ThrowsAsync<ObjectFreedException>(async () => await r);
        Assert.True(r.IsReady); // a wait sees it as done (failed)
        Assert.Equal(0, ray.Free(r)); // twice: nothing more to free
        Assert.Equal(0, ray.Free(new ObjectRef?[] { null }!));
    }

    [Fact]
    public async Task A_freed_large_object_leaves_shared_memory_at_once_while_its_handle_lives()
    {
        await using var ray = StartStore(out var dir);
        try
        {
            var big = ray.Put(Enumerable.Range(0, 1 << 20).Select(i => (long)i).ToArray()); // 8 MiB
            Assert.Equal(1, ray.Stats.SharedMemoryObjects);
            ray.Free(big);
            Assert.Equal(0, ray.Stats.SharedMemoryObjects);
            Assert.Equal(0, ray.Stats.ObjectBytesLive);
            Assert.Throws<ObjectFreedException>(() => big.Get(Util.Long));
            Assert.Throws<ObjectFreedException>(() => big.GetView(Util.Long));
            GC.KeepAlive(big);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public async Task An_open_view_keeps_reading_its_bytes_after_a_free()
    {
        await using var ray = StartStore(out var dir);
        try
        {
            var big = ray.Put(Enumerable.Range(0, 1 << 20).Select(i => (long)i).ToArray());
            var small = ray.Put(new long[] { 7, 8, 9 });
            using (var bigView = big.GetView(Util.Long))
            using (var smallView = small.GetView(Util.Long))
            {
                ray.Free(big, small);
                Assert.Equal((1L << 20) - 1, bigView.Span[^1]); // the store keeps it for the open view
                Assert.Equal(9, smallView.Span[2]);
                // New puts do not reuse what the views still read.
                var other = ray.Put(Enumerable.Repeat(-1L, 1 << 20).ToArray());
                Assert.Equal(5, bigView.Span[5]);
                GC.KeepAlive(other);
            }
            Assert.Throws<ObjectFreedException>(() => big.GetView(Util.Long));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public async Task A_task_taking_a_freed_object_fails_with_the_free_chained()
    {
        await using var ray = Util.Start();
        var r = ray.Put(new long[] { 1, 2 });
        ray.Free(r);
        var e = await Assert.ThrowsAsync<RayTaskException>(async () => await ray.Task(FreeFns.Sum).Remote(r));
        Assert.IsType<ObjectFreedException>(e.InnerException);
    }

    [Fact]
    public async Task Freeing_a_pending_result_fails_its_getters_now_and_drops_the_late_value()
    {
        await using var ray = Util.Start();
        var pending = ray.Task(FreeFns.SlowRamp).Remote(1000);
        var waiting = Task.Run(() => pending.Get(Util.Long));
        var dependent = ray.Task(FreeFns.Sum).Remote(pending); // queued behind it
        Thread.Sleep(50);
        Assert.Equal(1, ray.Free(pending));
        await Assert.ThrowsAsync<ObjectFreedException>(() => waiting);
        await Assert.ThrowsAsync<RayTaskException>(async () => await dependent);
        // The task still finishes; its value is dropped, not stored.
        var deadline = DateTime.UtcNow + Util.Long;
        while (ray.Stats.ObjectBytesLive > 0 && DateTime.UtcNow < deadline) Thread.Sleep(20);
        Assert.Equal(0, ray.Stats.ObjectBytesLive);
        Assert.Throws<ObjectFreedException>(() => pending.Get(Util.Long));
    }

    [Fact]
    public async Task A_ref_inside_a_value_reads_as_freed_after_its_object_is_freed()
    {
        await using var ray = Util.Start();
        var inner = ray.Put(new long[] { 4, 5 });
        var outer = ray.Put(new List<ObjectRef<long[]>> { inner });
        ray.Free(inner);
        Assert.Equal("freed", await ray.Task(FreeFns.Inner).Remote(outer.Get(Util.Long)));
        // Freeing the outer value releases what it held; a disposed handle is refused.
        ray.Free(outer);
        inner.Dispose();
        Assert.Throws<ObjectDisposedException>(() => ray.Free(inner));
    }
}
