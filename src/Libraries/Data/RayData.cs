using System.Globalization;
using Apache.Arrow;
using Ray.Data.Blocks;
using Ray.Data.Execution;
using Ray.Data.Plan;
using Ray.Data.Sources;

namespace Ray.Data;

/// <summary>
/// Where datasets start (Ray's <c>ray.data.read_*</c> / <c>from_*</c>): <c>ray.Data().ReadParquet(dir)</c>.
/// Nothing is read until the dataset is consumed, except file footers and listings for planning.
/// </summary>
public sealed class RayData
{
    internal RayData(RayRuntime ray, DataOptions options)
    {
        Runtime = ray;
        Options = options;
    }

    /// <summary>The runtime datasets run on.</summary>
    public RayRuntime Runtime { get; }

    /// <summary>Execution limits of the datasets made here.</summary>
    public DataOptions Options { get; }

    /// <summary>Rows 0..n-1 in column "id" (int64), in about <paramref name="parallelism"/> blocks (default <see cref="DataOptions.DefaultParallelism"/>).</summary>
    public Dataset Range(long n, int? parallelism = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        var blocks = Blocks(n, parallelism);
        var reads = new List<ReadTask>();
        for (var i = 0; i < blocks; i++)
        {
            var start = n * i / blocks;
            var end = n * (i + 1) / blocks;
            reads.Add(new ReadTask(TextSources.ReadRange, string.Create(CultureInfo.InvariantCulture, $"{start},{end - start}"), $"range {start}..{end}"));
        }
        return FromReadTasks("Range", reads, false);
    }

    private int Blocks(long rows, int? parallelism)
    {
        var p = parallelism ?? Options.DefaultParallelism;
        ArgumentOutOfRangeException.ThrowIfLessThan(p, 1, nameof(parallelism));
        var byRows = (int)Math.Min(int.MaxValue, (rows + Options.TargetRowsPerBlock - 1) / Options.TargetRowsPerBlock);
        return (int)Math.Max(1, Math.Min(Math.Max(p, byRows), Math.Max(rows, 1)));
    }

    /// <summary>
    /// A dataset of in-memory items, put into the object store now. Items may be <see cref="Row"/>s
    /// or dictionaries (columns by key), plain values (one column "item"), or objects (one column per public property).
    /// </summary>
    public Dataset FromItems<T>(IEnumerable<T> items, int? parallelism = null)
    {
        ArgumentNullException.ThrowIfNull(items);
        var rows = items.Select(ToRow).ToList();
        var n = Blocks(rows.Count, parallelism);
        var blocks = new List<BlockRef>();
        for (var i = 0; i < n; i++)
        {
            var part = rows.GetRange(rows.Count * i / n, rows.Count * (i + 1) / n - rows.Count * i / n);
            if (part.Count == 0 && rows.Count > 0) continue;
            blocks.Add(PutBlock(BlockOps.FromRows(part)));
        }
        return new Dataset(Runtime, new InputNode("FromItems", blocks), Options);
    }

    private static IReadOnlyDictionary<string, object?> ToRow<T>(T item) => item switch
    {
        IReadOnlyDictionary<string, object?> d => d,
        IDictionary<string, object?> d => d.AsReadOnly(),
        null => new Row().With("item", null),
        _ when item is string || item.GetType().IsPrimitive || item is byte[] => new Row().With("item", item),
        _ => item.GetType().GetProperties(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance)
                 .Where(p => p.GetIndexParameters().Length == 0)
                 .Aggregate(new Row(), (r, p) => r.With(p.Name, p.GetValue(item))),
    };

    /// <summary>A dataset of these Arrow batches (one block each), put into the object store now.</summary>
    public Dataset FromArrow(params RecordBatch[] batches)
    {
        ArgumentNullException.ThrowIfNull(batches);
        return new Dataset(Runtime, new InputNode("FromArrow", batches.Select(PutBlock).ToList()), Options);
    }

    private BlockRef PutBlock(RecordBatch b)
    {
        var bytes = BlockCodec.Encode(b);
        return new BlockRef(Runtime.PutBytes(bytes), owned: true, bytes.Length);
    }

    /// <summary>
    /// Parquet files (paths of files or directories): one read task per row group, reading only
    /// <paramref name="columns"/> when given. Footers are read now: an unreadable file or a
    /// schema mismatch across files fails here, naming the files.
    /// </summary>
    public Dataset ReadParquet(IEnumerable<string> paths, string[]? columns = null) =>
        FromReadTasks("ReadParquet", ParquetSource.Plan(paths, columns), true);

    /// <summary>Parquet files under one path.</summary>
    public Dataset ReadParquet(string path, string[]? columns = null) => ReadParquet([path], columns);

    /// <summary>
    /// CSV files with a header row, one read task per file. Column types are inferred per file
    /// (int64, double, bool, else string) unless given in <paramref name="columnTypes"/>; a row
    /// that does not parse fails naming the file and line, as does a schema mismatch across files.
    /// </summary>
    public Dataset ReadCsv(IEnumerable<string> paths, char delimiter = ',', IReadOnlyDictionary<string, Type>? columnTypes = null) =>
        FromReadTasks("ReadCsv", TextSources.PlanCsv(paths, delimiter, columnTypes), true);

    /// <summary>CSV files under one path.</summary>
    public Dataset ReadCsv(string path, char delimiter = ',', IReadOnlyDictionary<string, Type>? columnTypes = null) => ReadCsv([path], delimiter, columnTypes);

    /// <summary>JSON-lines files (one object per line), one read task per file.</summary>
    public Dataset ReadJson(params string[] paths) => FromReadTasks("ReadJson", TextSources.PlanPerFile(paths, TextSources.ReadJson), true);

    /// <summary>Text files: one row per line, column "text".</summary>
    public Dataset ReadText(params string[] paths) => FromReadTasks("ReadText", TextSources.PlanPerFile(paths, TextSources.ReadText), false);

    /// <summary>Whole files: one row per file, columns "path" and "bytes".</summary>
    public Dataset ReadBinaryFiles(params string[] paths) => FromReadTasks("ReadBinaryFiles", TextSources.PlanPerFile(paths, TextSources.ReadBinary), false);

    /// <summary>A user datasource's read tasks.</summary>
    public Dataset Read(IDatasource source, int? parallelism = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        return FromReadTasks(source.Name, source.GetReadTasks(parallelism ?? Options.DefaultParallelism), source.CheckSchema);
    }

    private Dataset FromReadTasks(string name, IReadOnlyList<ReadTask> tasks, bool checkSchema) =>
        new(Runtime, new ReadNode(name, tasks.Select(t => new ReadSpec(FunctionReference.Of(t.Read).ToString(), t.Argument, t.Label ?? t.Argument)).ToList(), checkSchema), Options);
}

/// <summary>The entry point: <c>ray.Data()</c>.</summary>
public static class RayDataExtensions
{
    /// <summary>Datasets on this runtime, with these execution limits (default <see cref="DataOptions.Default"/>).</summary>
    public static RayData Data(this RayRuntime ray, DataOptions? options = null) =>
        new(ray ?? throw new ArgumentNullException(nameof(ray)), options ?? DataOptions.Default);
}
