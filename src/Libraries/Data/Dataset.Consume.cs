using System.Runtime.CompilerServices;
using Apache.Arrow;
using Ray.Data.Blocks;
using Ray.Data.Execution;
using Ray.Data.Plan;

namespace Ray.Data;

public sealed partial class Dataset
{
    /// <summary>Streams the rows (values copied out of the blocks).</summary>
    public async IAsyncEnumerable<Row> IterRows([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var b in ExecuteAsync(cancellationToken).ConfigureAwait(false))
        {
            List<Row> rows;
            using (b)
            using (var h = b.Open())
                rows = BlockOps.Rows(h.Batch).ToList();
            foreach (var r in rows) yield return r;
        }
    }

    /// <summary>
    /// Streams batches of <paramref name="batchSize"/> rows. A batch within one block is a
    /// zero-copy view of the object store, valid until the next batch is requested: copy what
    /// you keep.
    /// </summary>
    /// <param name="batchSize">Rows per batch (the last may be shorter).</param>
    /// <param name="prefetch">Blocks the executor keeps in flight ahead of the consumer, at least (raises the operator window).</param>
    /// <param name="dropLast">Drop a last batch shorter than <paramref name="batchSize"/>.</param>
    /// <param name="localShuffleBufferSize">When above 0, rows pass through a buffer of at least this many rows and batches are drawn from it at random.</param>
    /// <param name="localShuffleSeed">Seed of the local shuffle.</param>
    /// <param name="cancellationToken">Stops the execution.</param>
    public IAsyncEnumerable<RecordBatch> IterBatches(int batchSize = 256, int prefetch = 1, bool dropLast = false,
        int localShuffleBufferSize = 0, int? localShuffleSeed = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(prefetch);
        ArgumentOutOfRangeException.ThrowIfNegative(localShuffleBufferSize);
        var ds = prefetch > Options.MaxTasksInFlightPerOperator ? WithOptions(Options with { MaxTasksInFlightPerOperator = prefetch }) : this;
        var source = ds.ExecuteAsync(cancellationToken);
        if (!ReferenceEquals(ds, this)) _last = ds._last;
        return Batcher.BatchesAsync(source, batchSize, dropLast, localShuffleBufferSize, localShuffleSeed, cancellationToken);
    }

    /// <summary>The first <paramref name="limit"/> rows.</summary>
    public async Task<List<Row>> TakeAsync(int limit = 20, CancellationToken cancellationToken = default)
    {
        var rows = new List<Row>();
        var ds = Limit(limit);
        await foreach (var r in ds.IterRows(cancellationToken).ConfigureAwait(false)) rows.Add(r);
        _last = ds._last;
        return rows;
    }

    /// <summary>The first <paramref name="limit"/> rows (blocks until they are computed).</summary>
    public List<Row> Take(int limit = 20) => TakeAsync(limit).GetAwaiter().GetResult();

    /// <summary>Every row.</summary>
    public async Task<List<Row>> TakeAllAsync(CancellationToken cancellationToken = default)
    {
        var rows = new List<Row>();
        await foreach (var r in IterRows(cancellationToken).ConfigureAwait(false)) rows.Add(r);
        return rows;
    }

    /// <summary>Every row (blocks until computed).</summary>
    public List<Row> TakeAll() => TakeAllAsync().GetAwaiter().GetResult();

    /// <summary>The first <paramref name="batchSize"/> rows as one batch (a copy).</summary>
    public async Task<RecordBatch> TakeBatchAsync(int batchSize = 20, CancellationToken cancellationToken = default)
    {
        var parts = new List<RecordBatch>();
        var ds = Limit(batchSize);
        await foreach (var b in ds.ExecuteAsync(cancellationToken).ConfigureAwait(false))
        {
            using (b)
            using (var h = b.Open())
                if (h.Batch.ColumnCount > 0) parts.Add(Batcher.Copy(h.Batch));
        }
        _last = ds._last;
        return BlockOps.Concat(parts);
    }

    /// <summary>The first <paramref name="batchSize"/> rows as one batch (blocks until computed).</summary>
    public RecordBatch TakeBatch(int batchSize = 20) => TakeBatchAsync(batchSize).GetAwaiter().GetResult();

    /// <summary>Number of rows (runs the plan; block headers are read, not the data).</summary>
    public async Task<long> CountAsync(CancellationToken cancellationToken = default)
    {
        long n = 0;
        await foreach (var b in ExecuteAsync(cancellationToken).ConfigureAwait(false))
        {
            using (b)
            using (var h = b.Open())
                n += h.Batch.Length;
        }
        return n;
    }

    /// <summary>Number of rows (blocks until computed).</summary>
    public long Count() => CountAsync().GetAwaiter().GetResult();

    /// <summary>The columns (names and Arrow types) of the first block with columns; null for an empty dataset.</summary>
    public async Task<Schema?> SchemaAsync(CancellationToken cancellationToken = default)
    {
        await foreach (var b in ExecuteAsync(cancellationToken).ConfigureAwait(false))
        {
            using (b)
            using (var h = b.Open())
                if (h.Batch.ColumnCount > 0) return h.Batch.Schema;
        }
        return null;
    }

    /// <summary>The schema (blocks until the first block is computed).</summary>
    public Schema? Schema() => SchemaAsync().GetAwaiter().GetResult();

    /// <summary>Writes the first <paramref name="limit"/> rows, one per line, to <paramref name="output"/> (default the console).</summary>
    public void Show(int limit = 20, TextWriter? output = null)
    {
        output ??= Console.Out;
        foreach (var r in Take(limit)) output.WriteLine(r.ToString());
    }

    /// <summary>
    /// Runs the plan and keeps its blocks in the object store: the returned dataset reads them
    /// without recomputing (they are freed when it is collected).
    /// </summary>
    public async Task<Dataset> MaterializeAsync(CancellationToken cancellationToken = default)
    {
        var blocks = new List<BlockRef>();
        try
        {
            await foreach (var b in ExecuteAsync(cancellationToken).ConfigureAwait(false))
                blocks.Add(b.Owned ? b.Keep() : new BlockRef(b.Ref, owned: false, b.Bytes, b.Label));
        }
        catch
        {
            foreach (var b in blocks) b.Dispose();
            throw;
        }
        return new Dataset(Runtime, new InputNode("Materialized", blocks), Options) { _last = _last };
    }

    /// <summary>Runs the plan and keeps its blocks (blocks until done).</summary>
    public Dataset Materialize() => MaterializeAsync().GetAwaiter().GetResult();

    /// <summary>Splits into <paramref name="n"/> datasets of equal row counts (differing by at most one), materializing this one.</summary>
    public async Task<Dataset[]> SplitAsync(int n, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 1);
        var m = await MaterializeAsync(cancellationToken).ConfigureAwait(false);
        var blocks = ((InputNode)m.Plan).Blocks;
        var counts = AllToAllPlans.RowCounts(blocks);
        var ranges = AllToAllPlans.EqualRanges(counts.Sum(), n);
        var result = new Dataset[n];
        for (var i = 0; i < n; i++)
            result[i] = await SliceAsync(m, blocks, counts, ranges[i].Item1, ranges[i].Item2, $"Split[{i}]", cancellationToken).ConfigureAwait(false);
        return result;
    }

    /// <summary>Splits into <paramref name="n"/> datasets of equal row counts (blocks until done).</summary>
    public Dataset[] Split(int n) => SplitAsync(n).GetAwaiter().GetResult();

    /// <summary>
    /// Splits into a train and a test dataset; the test part holds the last
    /// <paramref name="testSize"/> fraction of the rows (after a full shuffle when <paramref name="shuffle"/>).
    /// </summary>
    public async Task<(Dataset Train, Dataset Test)> TrainTestSplitAsync(double testSize, bool shuffle = false, int? seed = null, CancellationToken cancellationToken = default)
    {
        if (!(testSize > 0 && testSize < 1)) throw new ArgumentOutOfRangeException(nameof(testSize), testSize, "a fraction between 0 and 1");
        var m = await (shuffle ? RandomShuffle(seed) : this).MaterializeAsync(cancellationToken).ConfigureAwait(false);
        var blocks = ((InputNode)m.Plan).Blocks;
        var counts = AllToAllPlans.RowCounts(blocks);
        var total = counts.Sum();
        var cut = (long)(total * (1 - testSize));
        return (await SliceAsync(m, blocks, counts, 0, cut, "Train", cancellationToken).ConfigureAwait(false),
                await SliceAsync(m, blocks, counts, cut, total, "Test", cancellationToken).ConfigureAwait(false));
    }

    /// <summary>Splits into train and test datasets (blocks until done).</summary>
    public (Dataset Train, Dataset Test) TrainTestSplit(double testSize, bool shuffle = false, int? seed = null) =>
        TrainTestSplitAsync(testSize, shuffle, seed).GetAwaiter().GetResult();

    // Rows [start, end) of materialized blocks: whole blocks are shared, partial ones sliced by a task.
    private static async Task<Dataset> SliceAsync(Dataset m, IReadOnlyList<BlockRef> blocks, long[] counts, long start, long end, string name, CancellationToken ct)
    {
        var parts = new List<BlockRef>();
        var ranges = new List<(long, long)>();
        var slots = new List<int>();
        long offset = 0;
        for (var i = 0; i < blocks.Count; i++)
        {
            var lo = Math.Max(start, offset);
            var hi = Math.Min(end, offset + counts[i]);
            if (hi > lo)
            {
                if (lo == offset && hi == offset + counts[i]) parts.Add(new BlockRef(blocks[i].Ref, owned: false, blocks[i].Bytes));
                else { slots.Add(parts.Count); parts.Add(null!); ranges.Add((lo, hi)); }
            }
            offset += counts[i];
        }
        if (ranges.Count > 0)
        {
            var ctx = new ExecContext(m.Runtime, m.Options);
            var sliced = await AllToAllPlans.SliceAsync(ctx, null, blocks, counts, ranges, ct).ConfigureAwait(false);
            for (var k = 0; k < sliced.Count; k++) parts[slots[k]] = sliced[k];
        }
        return new Dataset(m.Runtime, new InputNode(name, parts), m.Options);
    }

    /// <summary>
    /// <paramref name="n"/> iterators fed by one streaming execution (Ray's <c>streaming_split</c>,
    /// which Train uses): blocks go to the iterators in turn, each iterator buffering at most two.
    /// Consume the iterators concurrently (one per trainer); one that stops reading holds up the others.
    /// </summary>
    public DataIterator[] StreamingSplit(int n)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 1);
        var coordinator = new SplitCoordinator(this, n);
        return Enumerable.Range(0, n).Select(i => new DataIterator(coordinator, i)).ToArray();
    }
}
