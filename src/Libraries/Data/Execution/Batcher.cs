using System.Runtime.CompilerServices;
using Apache.Arrow;
using Ray.Data.Blocks;

namespace Ray.Data.Execution;

/// <summary>
/// Re-batches a stream of blocks into batches of a fixed size. A batch inside one block is a
/// zero-copy slice of the store's memory, valid until the consumer asks for the next batch;
/// a batch across blocks, or out of the local shuffle buffer, is a copy.
/// </summary>
internal static class Batcher
{
    public static async IAsyncEnumerable<RecordBatch> BatchesAsync(IAsyncEnumerable<BlockRef> blocks, int batchSize, bool dropLast,
        int shuffleBuffer, int? seed, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        RecordBatch? carry = null;
        var rng = seed is { } s ? new Random(s) : new Random();
        await foreach (var b in blocks.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            using var owned = b;
            using var h = b.Open();
            var data = h.Batch;
            if (data.Length == 0 || data.ColumnCount == 0) continue;
            if (shuffleBuffer > 0)
            {
                carry = Copy(carry is null ? data : BlockOps.Concat([carry, data]));
                while (carry.Length >= shuffleBuffer + batchSize)
                {
                    (var batch, carry) = TakeRandom(carry, batchSize, rng);
                    yield return batch;
                }
                continue;
            }
            var offset = 0;
            if (carry is not null)
            {
                var take = Math.Min(batchSize - carry.Length, data.Length);
                carry = Copy(BlockOps.Concat([carry, data.Slice(0, take)]));
                offset = take;
                if (carry.Length == batchSize)
                {
                    var full = carry;
                    carry = null;
                    yield return full;
                }
            }
            while (data.Length - offset >= batchSize)
            {
                yield return data.Slice(offset, batchSize); // a view of the block: the handle is held until the next batch
                offset += batchSize;
            }
            if (offset < data.Length) carry = Copy(data.Slice(offset, data.Length - offset));
        }
        if (shuffleBuffer > 0)
        {
            while (carry is { Length: > 0 })
            {
                if (carry.Length < batchSize && dropLast) yield break;
                (var batch, carry) = TakeRandom(carry, Math.Min(batchSize, carry.Length), rng);
                yield return batch;
            }
            yield break;
        }
        if (carry is { Length: > 0 } && !dropLast) yield return carry;
    }

    /// <summary>A copy of <paramref name="b"/> in managed memory (not over any store view).</summary>
    public static RecordBatch Copy(RecordBatch b)
    {
        var idx = new int[b.Length];
        for (var i = 0; i < idx.Length; i++) idx[i] = i;
        return BlockOps.Take(b, idx);
    }

    private static (RecordBatch Batch, RecordBatch Remaining) TakeRandom(RecordBatch buffer, int n, Random rng)
    {
        var idx = new int[buffer.Length];
        for (var i = 0; i < idx.Length; i++) idx[i] = i;
        // Partial Fisher-Yates: the first n positions get a uniform sample.
        for (var i = 0; i < n; i++)
        {
            var j = rng.Next(i, idx.Length);
            (idx[i], idx[j]) = (idx[j], idx[i]);
        }
        return (BlockOps.Take(buffer, idx.AsSpan(0, n)), BlockOps.Take(buffer, idx.AsSpan(n)));
    }
}
