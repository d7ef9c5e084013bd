using System.Threading.Channels;
using MemoryPack;

namespace Ray.Serve.Replica;

/// <summary>
/// Runs one streaming call on a replica: enumerates the user's IAsyncEnumerable into a bounded
/// buffer of serialized items (the producer waits when the caller reads slowly), and hands out
/// what is there on each pull. Ends when the enumeration ends, fails, is cancelled, or no pull
/// came for <see cref="IdleLimit"/> (a caller that went away).
/// </summary>
internal sealed class StreamPump
{
    internal static readonly TimeSpan IdleLimit = TimeSpan.FromSeconds(60);

    private readonly Channel<byte[]> _items = Channel.CreateBounded<byte[]>(new BoundedChannelOptions(256) { SingleReader = true, SingleWriter = true });
    private readonly CancellationTokenSource _cancel = new();
    private long _lastPull = Environment.TickCount64;

    private StreamPump() { }

    /// <summary>Starts enumerating <paramref name="source"/> (an IAsyncEnumerable of <paramref name="itemType"/>); <paramref name="ended"/> runs once it stops.</summary>
    internal static StreamPump Start(object source, Type itemType, Action ended)
    {
        var pump = new StreamPump();
        var run = typeof(StreamPump).GetMethod(nameof(RunAsync), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!.MakeGenericMethod(itemType);
        _ = Task.Run(async () =>
        {
            try { await ((Task)run.Invoke(pump, [source])!).ConfigureAwait(false); }
            finally { ended(); }
        });
        return pump;
    }

    private async Task RunAsync<T>(IAsyncEnumerable<T> source)
    {
        using var idle = new Timer(static s => ((StreamPump)s!).CheckIdle(), this, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5));
        try
        {
            await foreach (var item in source.WithCancellation(_cancel.Token).ConfigureAwait(false))
                await _items.Writer.WriteAsync(MemoryPackSerializer.Serialize(item), _cancel.Token).ConfigureAwait(false);
            _items.Writer.TryComplete();
        }
        catch (Exception e) { _items.Writer.TryComplete(e); }
    }

    private void CheckIdle()
    {
        if (Environment.TickCount64 - Volatile.Read(ref _lastPull) > IdleLimit.TotalMilliseconds) Cancel();
    }

    internal void Cancel() => _cancel.Cancel();

    /// <summary>Up to <paramref name="max"/> items, waiting at most <paramref name="waitMs"/> for the first.</summary>
    internal async Task<StreamChunk> NextAsync(int max, int waitMs)
    {
        Volatile.Write(ref _lastPull, Environment.TickCount64);
        var reader = _items.Reader;
        if (!reader.TryPeek(out _) && !reader.Completion.IsCompleted)
        {
            using var wait = new CancellationTokenSource(waitMs);
            try { await reader.WaitToReadAsync(wait.Token).ConfigureAwait(false); }
            catch (OperationCanceledException) when (wait.IsCancellationRequested) { return new StreamChunk(); } // nothing yet: the caller pulls again
            catch (Exception) { } // the stream failed: WaitToReadAsync rethrows its error; the chunk below reports it
        }
        var items = new List<byte[]>();
        while (items.Count < max && reader.TryRead(out var item)) items.Add(item);
        var chunk = new StreamChunk { Items = items.ToArray() };
        if (items.Count < max && reader.Completion.IsCompleted)
        {
            chunk.Done = true;
            if (reader.Completion.Exception?.InnerException is { } e && e is not OperationCanceledException)
            {
                chunk.ErrorType = e.GetType().FullName;
                chunk.ErrorMessage = e.Message;
            }
        }
        return chunk;
    }
}
