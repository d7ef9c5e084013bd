namespace Ray.Data.Tests;

/// <summary>A slow consumer of a dataset several times the store's size: the byte budget holds the pipeline back, the store never fills.</summary>
public class BackpressureTests
{
    [Fact]
    public async Task SlowConsumerNeverFillsASmallStore()
    {
        const long store = 48L << 20;
        await using var ray = RayRuntime.Start(new RuntimeOptions { NumCpus = 4, ObjectStoreMemoryBytes = store });
        // 200 MB of blocks of 2 MB; a window of 64 tasks would hold 128 MB without the byte budget.
        var options = DataOptions.Default with { MaxTasksInFlightPerOperator = 64, MaxBufferedBytes = 8L << 20 };
        var ds = ray.Data(options).Range(25_000_000, parallelism: 100).Map(Fns.Slow).Limit(0).Union(ray.Data(options).Range(25_000_000, parallelism: 100));
        long rows = 0, maxUsed = 0;
        await foreach (var b in ds.IterBatches(batchSize: 250_000))
        {
            rows += b.Length;
            maxUsed = Math.Max(maxUsed, ray.Stats.SharedMemoryUsedBytes);
            await Task.Delay(5); // a slow consumer
        }
        Assert.Equal(25_000_000, rows);
        Assert.True(ds.PeakBufferedBytes <= (8L << 20) + 2 * (2L << 20) + 4096, $"peak buffered {ds.PeakBufferedBytes}");
        Assert.True(maxUsed < store / 2, $"store use reached {maxUsed} of {store}");
        Assert.Equal(0, ray.Stats.SpilledBytes);
    }
}
