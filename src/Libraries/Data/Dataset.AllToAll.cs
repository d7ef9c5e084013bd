using Ray.Data.Execution;
using Ray.Data.Plan;

namespace Ray.Data;

public sealed partial class Dataset
{
    /// <summary>A full random shuffle of the rows (materializing: a map-reduce over all blocks).</summary>
    public Dataset RandomShuffle(int? seed = null)
    {
        var s = seed ?? Random.Shared.Next();
        return With(new AllToAllNode(Plan, "RandomShuffle", (ctx, st, blocks, ct) => AllToAllPlans.ShuffleAsync(ctx, st, blocks, s, ct)));
    }

    /// <summary>
    /// Sorts by <paramref name="key"/> (an integer, floating-point or string column): range
    /// partitioning on sampled boundaries, then one merge task per partition.
    /// </summary>
    public Dataset Sort(string key, bool descending = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        return With(new AllToAllNode(Plan, $"Sort({key}{(descending ? ", desc" : "")})", (ctx, st, blocks, ct) => AllToAllPlans.SortAsync(ctx, st, blocks, key, descending, ct)));
    }

    /// <summary>Groups rows by <paramref name="key"/>; aggregate with the methods of the result.</summary>
    public GroupedData GroupBy(string key)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        return new GroupedData(this, key);
    }

    /// <summary>Re-chunks into <paramref name="numBlocks"/> blocks of nearly equal row counts, keeping the row order.</summary>
    public Dataset Repartition(int numBlocks)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(numBlocks, 1);
        return With(new AllToAllNode(Plan, $"Repartition({numBlocks})", async (ctx, st, blocks, ct) =>
        {
            var counts = AllToAllPlans.RowCounts(blocks);
            return await AllToAllPlans.SliceAsync(ctx, st, blocks, counts, AllToAllPlans.EqualRanges(counts.Sum(), numBlocks), ct).ConfigureAwait(false);
        }));
    }

    internal Dataset Aggregate(string key, IReadOnlyList<(string Kind, string? Column)> aggs) =>
        With(new AllToAllNode(Plan, $"GroupBy({key}).{string.Join(",", aggs.Select(a => $"{a.Kind}({a.Column})"))}",
            (ctx, st, blocks, ct) => AllToAllPlans.GroupAsync(ctx, st, blocks, key, aggs, ct)));
}

/// <summary>
/// A dataset grouped by a key (from <see cref="Dataset.GroupBy"/>). Each aggregation returns a
/// dataset with one row per key, sorted by key: the key column, then <c>count()</c>,
/// <c>sum(x)</c>, <c>min(x)</c>, <c>max(x)</c>, <c>mean(x)</c> or <c>std(x)</c> (sample
/// standard deviation, ddof 1). Nulls are skipped; sums, mins and maxes of integer columns are integers.
/// </summary>
public sealed class GroupedData
{
    private readonly Dataset _dataset;
    private readonly string _key;

    internal GroupedData(Dataset dataset, string key)
    {
        _dataset = dataset;
        _key = key;
    }

    /// <summary>Rows per key.</summary>
    public Dataset Count() => Aggregate(Agg.Count());

    /// <summary>Sum of <paramref name="column"/> per key.</summary>
    public Dataset Sum(string column) => Aggregate(Agg.Sum(column));

    /// <summary>Minimum of <paramref name="column"/> per key.</summary>
    public Dataset Min(string column) => Aggregate(Agg.Min(column));

    /// <summary>Maximum of <paramref name="column"/> per key.</summary>
    public Dataset Max(string column) => Aggregate(Agg.Max(column));

    /// <summary>Mean of <paramref name="column"/> per key.</summary>
    public Dataset Mean(string column) => Aggregate(Agg.Mean(column));

    /// <summary>Sample standard deviation of <paramref name="column"/> per key.</summary>
    public Dataset Std(string column) => Aggregate(Agg.Std(column));

    /// <summary>Several aggregations in one pass, e.g. <c>Aggregate(Agg.Count(), Agg.Mean("x"))</c>.</summary>
    public Dataset Aggregate(params Agg[] aggs)
    {
        ArgumentNullException.ThrowIfNull(aggs);
        if (aggs.Length == 0) throw new ArgumentException("pass one or more aggregations", nameof(aggs));
        return _dataset.Aggregate(_key, aggs.Select(a => (a.Kind, a.Column)).ToList());
    }
}

/// <summary>An aggregation for <see cref="GroupedData.Aggregate"/>.</summary>
public sealed record Agg
{
    private Agg(string kind, string? column)
    {
        Kind = kind;
        Column = column;
    }

    internal string Kind { get; }
    internal string? Column { get; }

    /// <summary>Rows per group: <c>count()</c>.</summary>
    public static Agg Count() => new("count", null);
    /// <summary><c>sum(column)</c>.</summary>
    public static Agg Sum(string column) => new("sum", Need(column));
    /// <summary><c>min(column)</c>.</summary>
    public static Agg Min(string column) => new("min", Need(column));
    /// <summary><c>max(column)</c>.</summary>
    public static Agg Max(string column) => new("max", Need(column));
    /// <summary><c>mean(column)</c>.</summary>
    public static Agg Mean(string column) => new("mean", Need(column));
    /// <summary><c>std(column)</c>, ddof 1.</summary>
    public static Agg Std(string column) => new("std", Need(column));

    private static string Need(string column)
    {
        ArgumentException.ThrowIfNullOrEmpty(column);
        return column;
    }
}
