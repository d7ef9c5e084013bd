using System.Text.Json;
using Ray.Data.Blocks;

namespace Ray.Data.Execution;

/// <summary>
/// The driver side of the all-to-all operators: map tasks, a sample of keys read from the
/// mapped blocks (zero-copy views) for range boundaries, then one reduce task per partition.
/// </summary>
internal static class AllToAllPlans
{
    public static async Task<IReadOnlyList<BlockRef>> SortAsync(ExecContext ctx, OperatorStats stats, IReadOnlyList<BlockRef> blocks, string key, bool descending, CancellationToken ct)
    {
        var spec = new PartitionSpec(PartitionSpec.Sort, key, descending);
        return await RangePartitionAsync(ctx, stats, blocks, spec, ct).ConfigureAwait(false);
    }

    public static async Task<IReadOnlyList<BlockRef>> GroupAsync(ExecContext ctx, OperatorStats stats, IReadOnlyList<BlockRef> blocks, string key, IReadOnlyList<(string Kind, string? Column)> aggs, CancellationToken ct)
    {
        // Integer columns keep integer sums, mins and maxes: read their types from the first block with columns.
        Apache.Arrow.Schema? schema = null;
        foreach (var b in blocks)
        {
            using var h = b.Open();
            if (h.Batch.ColumnCount > 0) { schema = h.Batch.Schema; break; }
        }
        if (schema is null) return [];
        if (schema.GetFieldIndex(key, StringComparer.Ordinal) < 0)
            throw new KeyNotFoundException($"group-by key '{key}' is not a column ({BlockOps.Describe(schema)})");
        var specs = aggs.Select(a =>
        {
            if (a.Column is null) return new AggSpec(a.Kind, null, false);
            var f = schema.GetFieldIndex(a.Column, StringComparer.Ordinal);
            if (f < 0) throw new KeyNotFoundException($"aggregated column '{a.Column}' is not a column ({BlockOps.Describe(schema)})");
            return new AggSpec(a.Kind, a.Column, Columns.IsInteger(schema.GetFieldByIndex(f).DataType));
        }).ToArray();
        return await RangePartitionAsync(ctx, stats, blocks, new PartitionSpec(PartitionSpec.Group, key, Aggs: specs), ct).ConfigureAwait(false);
    }

    public static async Task<IReadOnlyList<BlockRef>> ShuffleAsync(ExecContext ctx, OperatorStats stats, IReadOnlyList<BlockRef> blocks, int seed, CancellationToken ct)
    {
        var n = Math.Max(1, blocks.Count);
        var spec = new PartitionSpec(PartitionSpec.Shuffle, "__ray_partition", Partitions: n, Seed: seed);
        var mapped = await MapAsync(ctx, stats, blocks, spec, ct).ConfigureAwait(false);
        try
        {
            var bounds = Enumerable.Range(1, n - 1).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToList();
            return await ReduceAsync(ctx, stats, mapped, spec, bounds, ct).ConfigureAwait(false);
        }
        finally
        {
            foreach (var m in mapped) m.Dispose();
        }
    }

    private static async Task<IReadOnlyList<BlockRef>> RangePartitionAsync(ExecContext ctx, OperatorStats stats, IReadOnlyList<BlockRef> blocks, PartitionSpec spec, CancellationToken ct)
    {
        if (blocks.Count == 0) return [];
        var mapped = await MapAsync(ctx, stats, blocks, spec, ct).ConfigureAwait(false);
        try
        {
            var bounds = SampleBoundaries(mapped, spec.Key, blocks.Count);
            var outputs = await ReduceAsync(ctx, stats, mapped, spec, bounds, ct).ConfigureAwait(false);
            if (spec.Descending) outputs.Reverse();
            return outputs;
        }
        finally
        {
            foreach (var m in mapped) m.Dispose();
        }
    }

    private static async Task<List<BlockRef>> MapAsync(ExecContext ctx, OperatorStats stats, IReadOnlyList<BlockRef> blocks, PartitionSpec spec, CancellationToken ct)
    {
        var fn = ctx.Ray.Task((Func<ObjectRef<byte[]>, string, int, byte[]>)PartitionTasks.Map);
        var json = spec.ToJson();
        var refs = blocks.Select((b, i) => { stats.Task(); return fn.Remote(b.Ref, json, i); }).ToList();
        return await AwaitAllAsync(ctx, null, refs, ct).ConfigureAwait(false);
    }

    private static async Task<List<BlockRef>> ReduceAsync(ExecContext ctx, OperatorStats stats, List<BlockRef> mapped, PartitionSpec spec, List<string> bounds, CancellationToken ct)
    {
        var fn = ctx.Ray.Task((Func<ObjectRef<byte[]>[], string, int, byte[]>)PartitionTasks.Reduce);
        var inputs = mapped.Select(m => m.Ref).ToArray();
        var refs = new List<ObjectRef<byte[]>>();
        for (var p = 0; p <= bounds.Count; p++)
        {
            var s = spec with { Lo = p == 0 ? null : bounds[p - 1], Hi = p == bounds.Count ? null : bounds[p] };
            stats.Task();
            refs.Add(fn.Remote(inputs, s.ToJson(), p));
        }
        return await AwaitAllAsync(ctx, stats, refs, ct).ConfigureAwait(false);
    }

    // Up to 64 keys from each sorted block, evenly spaced; n - 1 boundaries from their sorted union.
    private static List<string> SampleBoundaries(List<BlockRef> sorted, string key, int partitions)
    {
        var samples = new List<string>();
        KeyColumn? any = null;
        foreach (var b in sorted)
        {
            using var h = b.Open();
            if (h.Batch.Length == 0 || h.Batch.ColumnCount == 0) continue;
            var k = KeyColumn.For(h.Batch.Column(BlockOps.IndexOf(h.Batch, key)));
            any = k;
            var step = Math.Max(1, k.Length / 64);
            for (var i = step / 2; i < k.Length; i += step) samples.Add(k.Format(i));
        }
        if (any is null || partitions <= 1) return [];
        any.SortBoundaries(samples);
        var bounds = new List<string>();
        for (var p = 1; p < partitions; p++)
        {
            var s = samples[(int)((long)p * samples.Count / partitions)];
            if (bounds.Count == 0 || bounds[^1] != s) bounds.Add(s);
        }
        if (bounds.Count > 0 && bounds[0] == samples[0]) bounds.RemoveAt(0); // an empty first partition helps nobody
        return bounds;
    }

    /// <summary>Waits for every task; their outputs as owned blocks, sizes known.</summary>
    public static async Task<List<BlockRef>> AwaitAllAsync(ExecContext ctx, OperatorStats? stats, List<ObjectRef<byte[]>> refs, CancellationToken ct)
    {
        try
        {
            if (refs.Count > 0) await ctx.Ray.WaitAsync(refs, refs.Count, null, ct).ConfigureAwait(false);
            var result = new List<BlockRef>(refs.Count);
            foreach (var r in refs)
            {
                using var h = BlockHandle.Open(r); // throws the task's error
                long bytes;
                using (var v = r.GetView()) bytes = v.Length;
                stats?.Output(bytes, h.Batch.Length, TimeSpan.Zero);
                result.Add(new BlockRef(r, owned: true, bytes));
            }
            return result;
        }
        catch
        {
            foreach (var r in refs) r.Dispose();
            throw;
        }
    }

    /// <summary>Row counts of blocks (block headers, read through views).</summary>
    public static long[] RowCounts(IReadOnlyList<BlockRef> blocks)
    {
        var counts = new long[blocks.Count];
        for (var i = 0; i < blocks.Count; i++)
        {
            using var h = blocks[i].Open();
            counts[i] = h.Batch.Length;
        }
        return counts;
    }

    /// <summary>
    /// One block per row range [start, end) of the concatenated blocks (Repartition, Split):
    /// a Gather task per range over the blocks it overlaps.
    /// </summary>
    public static async Task<List<BlockRef>> SliceAsync(ExecContext ctx, OperatorStats? stats, IReadOnlyList<BlockRef> blocks, long[] counts, IReadOnlyList<(long Start, long End)> ranges, CancellationToken ct)
    {
        var fn = ctx.Ray.Task((Func<ObjectRef<byte[]>[], string, byte[]>)DataTasks.Gather);
        var refs = new List<ObjectRef<byte[]>>();
        foreach (var (start, end) in ranges)
        {
            var inputs = new List<ObjectRef<byte[]>>();
            var slices = new List<long[]>();
            long offset = 0;
            for (var i = 0; i < blocks.Count; i++)
            {
                var lo = Math.Max(start, offset);
                var hi = Math.Min(end, offset + counts[i]);
                if (hi > lo)
                {
                    inputs.Add(blocks[i].Ref);
                    slices.Add([lo - offset, hi - lo]);
                }
                offset += counts[i];
            }
            stats?.Task();
            refs.Add(fn.Remote(inputs.ToArray(), JsonSerializer.Serialize(slices)));
        }
        return await AwaitAllAsync(ctx, stats, refs, ct).ConfigureAwait(false);
    }

    /// <summary>n ranges of nearly equal size over <paramref name="total"/> rows.</summary>
    public static List<(long, long)> EqualRanges(long total, int n)
    {
        var r = new List<(long, long)>(n);
        for (var i = 0; i < n; i++) r.Add((total * i / n, total * (i + 1) / n));
        return r;
    }
}
