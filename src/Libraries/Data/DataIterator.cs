using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Apache.Arrow;
using Ray.Data.Blocks;
using Ray.Data.Execution;

namespace Ray.Data;

/// <summary>One of the iterators of <see cref="Dataset.StreamingSplit"/>; iterate it once.</summary>
public sealed class DataIterator
{
    private readonly SplitCoordinator _coordinator;
    private readonly int _index;

    internal DataIterator(SplitCoordinator coordinator, int index)
    {
        _coordinator = coordinator;
        _index = index;
    }

    /// <summary>Streams this iterator's share as batches (see <see cref="Dataset.IterBatches"/>).</summary>
    public IAsyncEnumerable<RecordBatch> IterBatches(int batchSize = 256, bool dropLast = false, int localShuffleBufferSize = 0, int? localShuffleSeed = null, CancellationToken cancellationToken = default) =>
        Batcher.BatchesAsync(_coordinator.Blocks(_index, cancellationToken), batchSize, dropLast, localShuffleBufferSize, localShuffleSeed, cancellationToken);

    /// <summary>Streams this iterator's share as rows.</summary>
    public async IAsyncEnumerable<Row> IterRows([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var b in _coordinator.Blocks(_index, cancellationToken).ConfigureAwait(false))
        {
            List<Row> rows;
            using (b)
            using (var h = b.Open())
                rows = BlockOps.Rows(h.Batch).ToList();
            foreach (var r in rows) yield return r;
        }
    }
}

/// <summary>Runs one execution and deals its blocks to n bounded channels in turn (started by the first reader).</summary>
internal sealed class SplitCoordinator
{
    private readonly Dataset _dataset;
    private readonly Channel<BlockRef>[] _channels;
    private readonly CancellationTokenSource _stop = new();
    private int _started;

    public SplitCoordinator(Dataset dataset, int n)
    {
        _dataset = dataset;
        _channels = Enumerable.Range(0, n).Select(_ => Channel.CreateBounded<BlockRef>(new BoundedChannelOptions(2) { SingleReader = true, SingleWriter = true })).ToArray();
    }

    public async IAsyncEnumerable<BlockRef> Blocks(int index, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _started, 1) == 0) _ = Task.Run(RunAsync, CancellationToken.None);
        var reader = _channels[index].Reader;
        while (await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            while (reader.TryRead(out var b)) yield return b;
    }

    private async Task RunAsync()
    {
        Exception? error = null;
        try
        {
            var next = 0;
            await foreach (var b in _dataset.ExecuteAsync(_stop.Token).ConfigureAwait(false))
            {
                await _channels[next].Writer.WriteAsync(b, _stop.Token).ConfigureAwait(false);
                next = (next + 1) % _channels.Length;
            }
        }
        catch (Exception e) { error = e; }
        foreach (var c in _channels) c.Writer.TryComplete(error);
    }
}
