using Apache.Arrow;
using Ray.Data.Execution;
using Ray.Data.Plan;

namespace Ray.Data;

/// <summary>
/// A lazy, distributed dataset of Arrow record batches ("blocks") in the object store (Ray's
/// <c>ray.data.Dataset</c>). Transforms return new datasets and run nothing; consuming one
/// (iterating, <c>Take</c>, <c>Count</c>, a write, <c>Materialize</c>) runs the plan on a
/// streaming executor that overlaps reads, transforms and the consumer under a bound on
/// tasks and buffered bytes, and yields blocks in order.
/// <para>
/// User functions run where the tasks run (a worker process on a cluster), so they must be
/// static methods or lambdas that capture nothing; they are shipped by reference
/// (<see cref="FunctionReference"/>). Pass state through columns, or use an actor-pool
/// <c>MapBatches&lt;TMapper&gt;</c>.
/// </para>
/// </summary>
public sealed partial class Dataset
{
    private ExecContext? _last;

    internal Dataset(RayRuntime ray, LogicalNode plan, DataOptions options)
    {
        Runtime = ray;
        Plan = plan;
        Options = options;
    }

    /// <summary>The runtime its tasks run on.</summary>
    public RayRuntime Runtime { get; }

    /// <summary>Execution limits.</summary>
    public DataOptions Options { get; }

    internal LogicalNode Plan { get; }

    /// <summary>The same dataset with other execution limits.</summary>
    public Dataset WithOptions(DataOptions options) => new(Runtime, Plan, options ?? throw new ArgumentNullException(nameof(options)));

    private Dataset With(LogicalNode plan) => new(Runtime, plan, Options);

    private Dataset Step(string kind, Delegate? fn, TaskOptions? options, string[]? args = null, int batchSize = 0) =>
        With(new MapNode(Plan, new OpSpec(kind, fn is null ? null : FunctionReference.Of(fn).ToString(), args, batchSize), options ?? Planner.DefaultTask));

    /// <summary>Applies <paramref name="fn"/> to every row (a static method or a lambda that captures nothing).</summary>
    /// <param name="fn">The row function; it may change and return its argument.</param>
    /// <param name="options">Task resources; default one CPU.</param>
    public Dataset Map(Func<Row, Row> fn, TaskOptions? options = null) => Step(OpSpec.Map, fn, options);

    /// <summary>Applies <paramref name="fn"/> to every row; each row becomes the rows it returns (zero or more).</summary>
    public Dataset FlatMap(Func<Row, IEnumerable<Row>> fn, TaskOptions? options = null) => Step(OpSpec.FlatMap, fn, options);

    /// <summary>Keeps the rows for which <paramref name="predicate"/> is true (the columns keep their types).</summary>
    public Dataset Filter(Func<Row, bool> predicate, TaskOptions? options = null) => Step(OpSpec.Filter, predicate, options);

    /// <summary>
    /// Applies a vectorized function to batches of at most <paramref name="batchSize"/> rows
    /// (0: whole blocks). The workhorse: the function sees Arrow arrays, no per-row objects.
    /// </summary>
    /// <param name="fn">Batch in, batch out (any number of rows).</param>
    /// <param name="batchSize">Rows per call; 0 (default) passes each block whole.</param>
    /// <param name="options">Task resources (CPUs, GPUs) per call; default one CPU.</param>
    public Dataset MapBatches(Func<RecordBatch, RecordBatch> fn, int batchSize = 0, TaskOptions? options = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(batchSize);
        return Step(OpSpec.MapBatches, fn, options, null, batchSize);
    }

    /// <summary>
    /// Applies <typeparamref name="TMapper"/> to batches on an actor pool: each actor constructs
    /// the mapper once (load a model in its constructor), then maps the blocks it is given.
    /// </summary>
    /// <param name="pool">Pool sizes (min..max, autoscaled on demand) and per-actor resources.</param>
    /// <param name="batchSize">Rows per call; 0 (default) passes each block whole.</param>
    public Dataset MapBatches<TMapper>(ActorPoolStrategy pool, int batchSize = 0) where TMapper : IBatchMapper, new()
    {
        ArgumentNullException.ThrowIfNull(pool);
        if (pool.MinSize < 1 || pool.MaxSize < pool.MinSize) throw new ArgumentException($"actor pool sizes must satisfy 1 <= min <= max (got {pool.MinSize}..{pool.MaxSize})", nameof(pool));
        ArgumentOutOfRangeException.ThrowIfNegative(batchSize);
        return With(new ActorMapNode(Plan, typeof(TMapper), batchSize, pool));
    }

    /// <summary>Adds (or replaces) column <paramref name="name"/> with what <paramref name="fn"/> computes from each block.</summary>
    public Dataset AddColumn(string name, Func<RecordBatch, IArrowArray> fn, TaskOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        return Step(OpSpec.AddColumn, fn, options, [name]);
    }

    /// <summary>Removes these columns (each must exist).</summary>
    public Dataset DropColumns(params string[] names) => Step(OpSpec.Drop, null, null, Check(names));

    /// <summary>Keeps only these columns, in this order.</summary>
    public Dataset SelectColumns(params string[] names) => Step(OpSpec.Select, null, null, Check(names));

    /// <summary>Renames columns (old name to new name).</summary>
    public Dataset RenameColumns(IReadOnlyDictionary<string, string> names)
    {
        ArgumentNullException.ThrowIfNull(names);
        return Step(OpSpec.Rename, null, null, names.SelectMany(p => new[] { p.Key, p.Value }).ToArray());
    }

    /// <summary>The first <paramref name="limit"/> rows; upstream work stops once they are produced.</summary>
    public Dataset Limit(long limit)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        return With(new LimitNode(Plan, limit));
    }

    /// <summary>This dataset's rows followed by the others'.</summary>
    public Dataset Union(params Dataset[] others)
    {
        ArgumentNullException.ThrowIfNull(others);
        return With(new UnionNode([Plan, .. others.Select(o => o.Plan)]));
    }

    private static string[] Check(string[] names)
    {
        ArgumentNullException.ThrowIfNull(names);
        if (names.Length == 0 || names.Any(string.IsNullOrEmpty)) throw new ArgumentException("pass one or more column names", nameof(names));
        return names;
    }

    /// <summary>
    /// Per-operator statistics of the last execution of this dataset object: tasks, blocks,
    /// rows, bytes, wall time, and each operator's name with the steps fused into it.
    /// </summary>
    public string Stats()
    {
        var ctx = _last;
        if (ctx is null) return "not executed yet";
        List<OperatorStats> ops;
        lock (ctx.Stats) ops = [.. ctx.Stats];
        return string.Join(Environment.NewLine, ops.Select(o => o.ToString()))
            + Environment.NewLine + $"peak buffered: {ctx.PeakBufferedBytes / 1024.0 / 1024.0:0.00} MiB (limit {ctx.Options.MaxBufferedBytes / 1024.0 / 1024.0:0} MiB)";
    }

    /// <summary>The most bytes of produced, not yet consumed blocks at any time in the last execution (what <see cref="DataOptions.MaxBufferedBytes"/> bounds).</summary>
    public long PeakBufferedBytes => _last is { } ctx ? Interlocked.Read(ref ctx.PeakBufferedBytes) : 0;

    /// <summary>The statistics of the last execution, one entry per operator.</summary>
    public IReadOnlyList<OperatorStats> OperatorStats
    {
        get
        {
            var ctx = _last;
            if (ctx is null) return [];
            lock (ctx.Stats) return [.. ctx.Stats];
        }
    }

    /// <summary>Runs the plan; the caller disposes each block.</summary>
    internal IAsyncEnumerable<BlockRef> ExecuteAsync(CancellationToken cancellationToken)
    {
        var ctx = new ExecContext(Runtime, Options);
        _last = ctx;
        return Planner.Build(Plan).ExecuteAsync(ctx, cancellationToken);
    }

    /// <summary>A readable plan, e.g. <c>ReadParquet -> Map(F.lambda) -> Sort(x)</c>.</summary>
    public override string ToString() => $"Dataset({Describe(Plan)})";

    private static string Describe(LogicalNode n) => n switch
    {
        ReadNode r => $"{r.Name}[{r.Reads.Count} read tasks]",
        InputNode i => $"{i.Name}[{i.Blocks.Count} blocks]",
        MapNode m => $"{Describe(m.Input)} -> {m.Op.Display}",
        ActorMapNode a => $"{Describe(a.Input)} -> MapBatches({a.Mapper.Name})",
        AllToAllNode t => $"{Describe(t.Input)} -> {t.Name}",
        LimitNode l => $"{Describe(l.Input)} -> Limit({l.Limit})",
        UnionNode u => $"Union({string.Join(", ", u.Inputs.Select(Describe))})",
        _ => n.GetType().Name,
    };
}
