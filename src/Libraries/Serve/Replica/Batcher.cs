using System.Collections.Concurrent;
using System.Threading.Channels;

namespace Ray.Serve.Replica;

/// <summary>
/// Dynamic batching for one [Batch] method of one replica: items wait in a queue; a loop takes
/// the first, then more until the batch is full or the wait after the first item is over, runs
/// the method on the array, and hands each caller its result. One batch runs at a time (Ray's
/// default max_concurrent_batches = 1), so the next batch fills while this one runs.
/// </summary>
internal sealed class Batcher
{
    private readonly Channel<(object? Item, TaskCompletionSource<object?> Done)> _queue =
        Channel.CreateUnbounded<(object?, TaskCompletionSource<object?>)>(new UnboundedChannelOptions { SingleReader = true });
    private readonly MethodInvoker _method;
    private readonly object _instance;
    private readonly ConcurrentQueue<int> _sizes = new();

    internal Batcher(MethodInvoker method, object instance)
    {
        _method = method;
        _instance = instance;
        _ = Task.Run(LoopAsync);
    }

    /// <summary>The sizes of the latest batches (at most 1000), oldest first.</summary>
    internal int[] RecentSizes => _sizes.ToArray();

    internal Task<object?> Enqueue(object? item)
    {
        var done = new TaskCompletionSource<object?>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_queue.Writer.TryWrite((item, done))) done.SetException(new InvalidOperationException("the replica is stopping"));
        return done.Task;
    }

    internal void Stop() => _queue.Writer.TryComplete();

    private async Task LoopAsync()
    {
        var max = _method.Batch!.MaxBatchSize;
        var wait = TimeSpan.FromMilliseconds(_method.Batch.BatchWaitTimeoutMs);
        var reader = _queue.Reader;
        var batch = new List<(object? Item, TaskCompletionSource<object?> Done)>(max);
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            var deadline = DateTime.UtcNow + wait;
            while (batch.Count < max)
            {
                if (reader.TryRead(out var next)) { batch.Add(next); continue; }
                if (batch.Count == 0) break; // raced another read: wait again
                var left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero) break;
                var more = reader.WaitToReadAsync().AsTask();
                if (await Task.WhenAny(more, Task.Delay(left)).ConfigureAwait(false) != more || !more.Result) break;
            }
            if (batch.Count == 0) continue;
            await RunAsync(batch).ConfigureAwait(false);
        }
    }

    private async Task RunAsync(List<(object? Item, TaskCompletionSource<object?> Done)> batch)
    {
        _sizes.Enqueue(batch.Count);
        while (_sizes.Count > 1000) _sizes.TryDequeue(out _);
        var items = Array.CreateInstance(_method.ItemType!, batch.Count);
        for (var i = 0; i < batch.Count; i++) items.SetValue(batch[i].Item, i);
        try
        {
            var result = await _method.InvokeAsync(_instance, [items]).ConfigureAwait(false) as Array;
            if (result is null || result.Length != batch.Count)
                throw new InvalidOperationException($"{_method.Method.DeclaringType?.Name}.{_method.Method.Name} returned {result?.Length.ToString() ?? "null"} results for a batch of {batch.Count}: a [Batch] method returns one result per item, in order.");
            for (var i = 0; i < batch.Count; i++) batch[i].Done.TrySetResult(result.GetValue(i));
        }
        catch (Exception e)
        {
            foreach (var (_, done) in batch) done.TrySetException(e);
        }
    }
}
