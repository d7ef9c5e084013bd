using System.Text.Json;

namespace Ray.Data.Execution;

/// <summary>What a partitioning map or reduce task does, as it travels (JSON).</summary>
/// <param name="Mode">sort, shuffle or group.</param>
/// <param name="Key">The key column (shuffle: the partition column it adds).</param>
/// <param name="Descending">Sort order of the output.</param>
/// <param name="Lo">Lowest key of the reduce's partition (inclusive), null: from the start.</param>
/// <param name="Hi">Key above the partition (exclusive), null: to the end.</param>
/// <param name="Partitions">Shuffle: how many partitions.</param>
/// <param name="Seed">Shuffle: random seed.</param>
/// <param name="Aggs">Group: the aggregations.</param>
internal sealed record PartitionSpec(string Mode, string Key, bool Descending = false, string? Lo = null, string? Hi = null,
    int Partitions = 0, int Seed = 0, AggSpec[]? Aggs = null)
{
    public const string Sort = "sort", Shuffle = "shuffle", Group = "group";

    public string ToJson() => JsonSerializer.Serialize(this);

    public static PartitionSpec Parse(string json) => JsonSerializer.Deserialize<PartitionSpec>(json)!;
}

/// <summary>One aggregation: count, sum, min, max, mean or std of a column; Integer when the column holds integers.</summary>
internal sealed record AggSpec(string Kind, string? Column, bool Integer)
{
    public string OutputName => Kind == "count" ? "count()" : $"{Kind}({Column})";
}
