using System.Diagnostics;
using Apache.Arrow;
using Apache.Arrow.Types;
using DuckDB.NET.Data;
using Parquet;
using Parquet.Schema;
using Ray.Data;

namespace Ray.Perf;

/// <summary>
/// Ray.Data beside the single-machine tools a user would pick instead: Parquet.Net reading the
/// same files in one thread, the same Arrow loop in memory, DuckDB sorting and grouping the
/// same rows. Sized so the section takes well under a minute on 2 cores: 4 Parquet files of
/// 1M rows (4 int64/double columns), 4M rows for MapBatches, 2M rows for sort and group-by
/// (the 10M rows would take ~5x as long; rows/s is what is compared).
/// </summary>
public static class DataCases
{
    private const int FileRows = 1_000_000, Files = 4, MapRows = 4_000_000, SortRows = 2_000_000, Groups = 1000;

    /// <summary>The embedded run: every case and its floor.</summary>
    public static void Run(PerfHarness floors, PerfHarness h, RayRuntime ray) => Run(floors, h, ray, "embedded");

    /// <summary>
    /// On a cluster (tasks in worker processes, blocks in the node's store): the same cases;
    /// floors only when this run has not measured them yet (mode cluster alone).
    /// </summary>
    public static void RunCluster(PerfHarness floors, PerfHarness h, RayRuntime ray) => Run(floors, h, ray, "cluster");

    private static void Run(PerfHarness floors, PerfHarness h, RayRuntime ray, string mode)
    {
        string[] cases = ["data_read_parquet_gbps", "data_read_parquet_gbps_2workers", "floor_parquetnet_read_gbps", "data_map_batches_rows_per_s",
            "floor_arrow_loop_rows_per_s", "data_sort_rows_per_s", "floor_duckdb_sort_rows_per_s", "data_groupby_rows_per_s", "floor_duckdb_groupby_rows_per_s"];
        if (!cases.Any(c => h.Selected(c) || floors.Selected(c))) return;
        var dir = Path.Combine(Path.GetTempPath(), "ray-perf-data-" + Environment.ProcessId);
        Directory.CreateDirectory(dir);
        try
        {
            WriteFilesAsync(dir).GetAwaiter().GetResult();
            long bytes = (long)Files * FileRows * 4 * 8; // uncompressed: 4 eight-byte columns
            Time(floors, mode, "floor_parquetnet_read_gbps", () => ReadDirectAsync(dir).GetAwaiter().GetResult(), bytes / 1e9, "GB/s");
            Time(h, mode, "data_read_parquet_gbps", () => ray.Data(DataOptions.Default with { MaxTasksInFlightPerOperator = 1 }).ReadParquet(dir).Count(), bytes / 1e9, "GB/s");
            Time(h, mode, "data_read_parquet_gbps_2workers", () => ray.Data(DataOptions.Default with { MaxTasksInFlightPerOperator = 2 }).ReadParquet(dir).Count(), bytes / 1e9, "GB/s");

            var batches = Enumerable.Range(0, 16).Select(i => MakeBatch(MapRows / 16, i)).ToArray();
            Time(floors, mode, "floor_arrow_loop_rows_per_s", () => { foreach (var b in batches) AddColumn(b); }, MapRows, "rows/s");
            var input = ray.Data().FromArrow(batches);
            Time(h, mode, "data_map_batches_rows_per_s", () => input.MapBatches(AddColumn).Count(), MapRows, "rows/s");

            var sortBatches = Enumerable.Range(0, 8).Select(i => MakeBatch(SortRows / 8, 100 + i)).ToArray();
            var sortInput = ray.Data().FromArrow(sortBatches);
            Time(h, mode, "data_sort_rows_per_s", () => sortInput.Sort("k").Count(), SortRows, "rows/s");
            Time(h, mode, "data_groupby_rows_per_s", () => sortInput.GroupBy("g").Aggregate(Agg.Sum("v"), Agg.Mean("v")).Count(), SortRows, "rows/s");
            using var duck = new DuckDBConnection("DataSource=:memory:");
            duck.Open();
            Exec(duck, $"CREATE TABLE t AS SELECT (hash(i) % 1000000000)::BIGINT AS k, (i % {Groups})::BIGINT AS g, random() AS v, i AS w FROM range({SortRows}) r(i)");
            Time(floors, mode, "floor_duckdb_sort_rows_per_s", () => { Exec(duck, "CREATE OR REPLACE TABLE s AS SELECT * FROM t ORDER BY k"); }, SortRows, "rows/s");
            Time(floors, mode, "floor_duckdb_groupby_rows_per_s", () => { Exec(duck, "CREATE OR REPLACE TABLE gb AS SELECT g, sum(v), avg(v) FROM t GROUP BY g"); }, SortRows, "rows/s");
        }
        finally
        {
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
        Ratio(h, floors, "data_read_parquet_gbps", "floor_parquetnet_read_gbps");
        Ratio(h, floors, "data_read_parquet_gbps_2workers", "floor_parquetnet_read_gbps");
        Ratio(h, floors, "data_map_batches_rows_per_s", "floor_arrow_loop_rows_per_s");
        Ratio(h, floors, "data_sort_rows_per_s", "floor_duckdb_sort_rows_per_s");
        Ratio(h, floors, "data_groupby_rows_per_s", "floor_duckdb_groupby_rows_per_s");
    }

    // One warm-up, then the median of three runs.
    private static void Time(PerfHarness harness, string mode, string name, Action body, double units, string unit)
    {
        if (!harness.Selected(name)) return;
        var floor = name.StartsWith("floor_", StringComparison.Ordinal);
        if (floor && !double.IsNaN(harness.Value(name))) return; // measured by the embedded section of this run
        body();
        var runs = new List<double>();
        for (var i = 0; i < 3; i++)
        {
            var sw = Stopwatch.StartNew();
            body();
            runs.Add(units / sw.Elapsed.TotalSeconds);
        }
        runs.Sort();
        harness.Add(name, floor ? "floor" : mode, runs[1], unit);
    }

    private static void Ratio(PerfHarness h, PerfHarness floors, string ours, string floor)
    {
        var a = h.Value(ours);
        var b = floors.Value(floor);
        if (!double.IsNaN(a) && !double.IsNaN(b)) Console.WriteLine($"ratio {ours} / {floor} = {a / b:0.00}");
    }

    private static void Exec(DuckDBConnection c, string sql)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    /// <summary>k: random int64 key, g: group (1000 groups), v: double, w: int64.</summary>
    private static RecordBatch MakeBatch(int rows, int seed)
    {
        var rng = new Random(seed);
        var k = new long[rows];
        var g = new long[rows];
        var v = new double[rows];
        var w = new long[rows];
        for (var i = 0; i < rows; i++)
        {
            k[i] = rng.NextInt64(1_000_000_000);
            g[i] = rng.Next(Groups);
            v[i] = rng.NextDouble();
            w[i] = i;
        }
        return new RecordBatch(new Apache.Arrow.Schema([new("k", Int64Type.Default, false), new("g", Int64Type.Default, false), new("v", DoubleType.Default, false), new("w", Int64Type.Default, false)], null),
            [new Int64Array.Builder().AppendRange(k).Build(), new Int64Array.Builder().AppendRange(g).Build(), new DoubleArray.Builder().AppendRange(v).Build(), new Int64Array.Builder().AppendRange(w).Build()], rows);
    }

    /// <summary>The vectorized column add both sides run: x = k * 2 + w.</summary>
    private static RecordBatch AddColumn(RecordBatch b)
    {
        var k = ((Int64Array)b.Column(0)).Values;
        var w = ((Int64Array)b.Column(3)).Values;
        var x = new long[b.Length];
        for (var i = 0; i < x.Length; i++) x[i] = k[i] * 2 + w[i];
        return new RecordBatch(new Apache.Arrow.Schema([.. b.Schema.FieldsList, new("x", Int64Type.Default, false)], null),
            [.. b.Arrays, new Int64Array.Builder().AppendRange(x).Build()], b.Length);
    }

    private static async Task WriteFilesAsync(string dir)
    {
        var fields = new DataField[] { new DataField<long>("a"), new DataField<long>("b"), new DataField<double>("c"), new DataField<long>("d") };
        for (var f = 0; f < Files; f++)
        {
            var rng = new Random(f);
            var a = new long[FileRows];
            var c = new double[FileRows];
            for (var i = 0; i < FileRows; i++) { a[i] = rng.NextInt64(); c[i] = rng.NextDouble(); }
            await using var fs = File.Create(Path.Combine(dir, $"part-{f}.parquet"));
            await using var writer = await ParquetWriter.CreateAsync(new ParquetSchema(fields), fs);
            // Two row groups per file: read tasks are per row group.
            for (var g = 0; g < 2; g++)
            {
                using var rg = writer.CreateRowGroup();
                var half = FileRows / 2;
                await rg.WriteAsync(fields[0], (ReadOnlyMemory<long>)a.AsMemory(g * half, half), null, null, default);
                await rg.WriteAsync(fields[1], (ReadOnlyMemory<long>)a.AsMemory(g * half, half), null, null, default);
                await rg.WriteAsync(fields[2], (ReadOnlyMemory<double>)c.AsMemory(g * half, half), null, null, default);
                await rg.WriteAsync(fields[3], (ReadOnlyMemory<long>)a.AsMemory(g * half, half), null, null, default);
            }
        }
    }

    private static async Task ReadDirectAsync(string dir)
    {
        foreach (var file in Directory.GetFiles(dir).Order())
        {
            await using var reader = await ParquetReader.CreateAsync(file);
            var fields = reader.Schema.GetDataFields();
            for (var g = 0; g < reader.RowGroupCount; g++)
            {
                using var rg = reader.OpenRowGroupReader(g);
                var n = (int)rg.RowCount;
                foreach (var f in fields)
                {
                    if (f.ClrType == typeof(double)) await rg.ReadAsync(f, new double[n].AsMemory(), null, default);
                    else await rg.ReadAsync(f, new long[n].AsMemory(), null, default);
                }
            }
        }
    }
}
