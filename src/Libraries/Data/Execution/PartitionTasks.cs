using Apache.Arrow;
using Ray.Data.Blocks;

namespace Ray.Data.Execution;

/// <summary>
/// Map and reduce tasks of the all-to-all operators. Maps return their block sorted by the
/// partition key; a reduce finds its key range in each mapped block by binary search (reading
/// the blocks through zero-copy views) and merges the slices, so maps need one output each.
/// </summary>
internal static class PartitionTasks
{
    /// <summary>Sort map: the block sorted ascending by the key. Shuffle map: the block with a random partition column, sorted by it. Group map: partial aggregates sorted by key.</summary>
    public static byte[] Map(ObjectRef<byte[]> input, string specJson, int index)
    {
        var spec = PartitionSpec.Parse(specJson);
        using var h = BlockHandle.Open(input);
        var b = h.Batch;
        if (b.Length == 0 || b.ColumnCount == 0) return BlockCodec.Encode(b);
        switch (spec.Mode)
        {
            case PartitionSpec.Sort:
                return BlockCodec.Encode(BlockOps.Take(b, KeyColumn.For(b.Column(BlockOps.IndexOf(b, spec.Key))).SortIndices(false)));
            case PartitionSpec.Shuffle:
            {
                var rng = new Random(HashCode.Combine(spec.Seed, index));
                var p = new int[b.Length];
                for (var i = 0; i < p.Length; i++) p[i] = rng.Next(spec.Partitions);
                var withP = BlockOps.WithColumn(b, spec.Key, new Int32Array.Builder().AppendRange(p).Build(ManagedAllocator.Instance));
                return BlockCodec.Encode(BlockOps.Take(withP, KeyColumn.For(withP.Column(withP.ColumnCount - 1)).SortIndices(false)));
            }
            case PartitionSpec.Group:
                return BlockCodec.Encode(Aggregation.Partial(b, spec.Key, spec.Aggs!));
            default: throw new NotSupportedException(spec.Mode);
        }
    }

    /// <summary>One output partition: the [Lo, Hi) key range of every mapped block, merged.</summary>
    public static byte[] Reduce(ObjectRef<byte[]>[] inputs, string specJson, int partition)
    {
        var spec = PartitionSpec.Parse(specJson);
        var handles = new List<BlockHandle>();
        try
        {
            var parts = new List<RecordBatch>();
            foreach (var r in inputs)
            {
                var h = BlockHandle.Open(r);
                handles.Add(h);
                var b = h.Batch;
                if (b.Length == 0 || b.ColumnCount == 0) continue;
                var key = KeyColumn.For(b.Column(BlockOps.IndexOf(b, spec.Key)));
                var lo = spec.Lo is null ? 0 : key.LowerBound(spec.Lo);
                var hi = spec.Hi is null ? b.Length : key.LowerBound(spec.Hi);
                if (hi > lo) parts.Add(b.Slice(lo, hi - lo));
            }
            var all = BlockOps.Concat(parts);
            if (all.Length == 0) return BlockCodec.Encode(spec.Mode == PartitionSpec.Shuffle && all.ColumnCount > 0 ? BlockOps.Drop(all, [spec.Key]) : all);
            switch (spec.Mode)
            {
                case PartitionSpec.Sort:
                {
                    // Each slice is sorted (its map sorted the block): merge them.
                    var starts = new List<int>(parts.Count);
                    var at = 0;
                    foreach (var part in parts) { starts.Add(at); at += part.Length; }
                    return BlockCodec.Encode(BlockOps.Take(all, KeyColumn.For(all.Column(BlockOps.IndexOf(all, spec.Key))).MergeIndices(starts, spec.Descending)));
                }
                case PartitionSpec.Shuffle:
                {
                    var idx = Enumerable.Range(0, all.Length).ToArray();
                    new Random(HashCode.Combine(spec.Seed, partition, 7919)).Shuffle(idx);
                    return BlockCodec.Encode(BlockOps.Drop(BlockOps.Take(all, idx), [spec.Key]));
                }
                case PartitionSpec.Group:
                    return BlockCodec.Encode(Aggregation.Final(all, spec.Key, spec.Aggs!));
                default: throw new NotSupportedException(spec.Mode);
            }
        }
        finally
        {
            foreach (var h in handles) h.Dispose();
        }
    }
}
