using Apache.Arrow;
using Apache.Arrow.Types;
using Ray.Data;

namespace Ray.Demo;

/// <summary>
/// A small Ray.Data pipeline: generate rows, transform them in fused tasks, write Parquet, read
/// it back with a column projection, group and sort, and stream batches to a consumer.
/// </summary>
public static class DataDemo
{
    public static async Task RunAsync(RayRuntime ray)
    {
        var dir = Path.Combine(Path.GetTempPath(), $"ray-demo-data-{Environment.ProcessId}");
        try
        {
            var sw = System.Diagnostics.Stopwatch.StartNew();
            // Lazy: nothing runs until a consumer (here the write) asks for blocks.
            var ds = ray.Data().Range(100_000)
                .Map(r => r.With("bucket", r.Get<long>("id") % 7))     // row function (capture-free lambda)
                .MapBatches(AddScore, batchSize: 4096)                   // vectorized over Arrow arrays
                .Filter(r => r.Get<long>("id") % 10 != 3);
            var written = ds.WriteParquet(dir);
            Console.WriteLine($"data: wrote {written:N0} rows to {Directory.GetFiles(dir).Length} Parquet files ({sw.Elapsed.TotalMilliseconds:0} ms); fused: {ds.OperatorStats[0].Name}");

            var read = ray.Data().ReadParquet(dir, columns: ["bucket", "score"]);
            var stats = read.GroupBy("bucket").Aggregate(Agg.Count(), Agg.Mean("score")).Sort("bucket", descending: true);
            foreach (var row in await stats.TakeAsync(3)) Console.WriteLine($"  {row}");

            long rows = 0, batches = 0;
            await foreach (var b in read.IterBatches(batchSize: 10_000, localShuffleBufferSize: 20_000))
            {
                rows += b.Length;
                batches++;
            }
            Console.WriteLine($"data: streamed {rows:N0} rows in {batches} shuffled batches; {read.Stats().Split(Environment.NewLine)[0]}");
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }

    // score = id * 0.5, as a new column computed over the whole batch.
    private static RecordBatch AddScore(RecordBatch b)
    {
        var id = (Int64Array)b.Column("id");
        var score = new DoubleArray.Builder().Reserve(b.Length);
        for (var i = 0; i < b.Length; i++) score.Append(id.Values[i] * 0.5);
        return new RecordBatch(new Schema([.. b.Schema.FieldsList, new Field("score", DoubleType.Default, false)], null), [.. b.Arrays, score.Build()], b.Length);
    }
}
