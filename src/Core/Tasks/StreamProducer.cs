using Ray.Objects;

namespace Ray.Tasks;

/// <summary>
/// Runs an in-process generator into its <see cref="ItemStream{T}"/>: each yielded item becomes
/// an object at once, and the producer waits for room before asking for the next item when the
/// stream has a back-pressure bound (so a paused generator's code does not run ahead). It stops
/// at its next item once the stream ends or the consumer gave up. What it returns is the
/// end-of-stream value (the task's result).
/// </summary>
internal static class StreamProducer
{
    internal static Unit Drain<T>(IEnumerable<T> source, ItemStream<T> stream)
    {
        ArgumentNullException.ThrowIfNull(source, "the generator");
        long index = 0;
        using var e = source.GetEnumerator();
        while (stream.WaitRoom(index) && e.MoveNext())
            if (!stream.Produce(index++, e.Current)) break;
        return Unit.Value;
    }

    internal static async Task<Unit> DrainAsync<T>(IAsyncEnumerable<T> source, ItemStream<T> stream)
    {
        ArgumentNullException.ThrowIfNull(source, "the generator");
        long index = 0;
        await using var e = source.GetAsyncEnumerator(stream.StopToken);
        while (true)
        {
            // Waiting asynchronously: an async actor runs its other calls while this one is paused.
            if (!stream.HasRoomFor(index)) await stream.WaitRoomAsync(index).ConfigureAwait(true);
            if (stream.ShouldStop || !await e.MoveNextAsync().ConfigureAwait(true)) break;
            if (!stream.Produce(index++, e.Current)) break;
        }
        return Unit.Value;
    }

    /// <summary>An async method that returns a (sync) generator: waited for, then drained.</summary>
    internal static async Task<Unit> DrainAfter<T>(Task<IEnumerable<T>> source, ItemStream<T> stream) =>
        Drain(await source.ConfigureAwait(true), stream);

    /// <summary>An async method that returns an async generator: waited for, then drained.</summary>
    internal static async Task<Unit> DrainAsyncAfter<T>(Task<IAsyncEnumerable<T>> source, ItemStream<T> stream) =>
        await DrainAsync(await source.ConfigureAwait(true), stream).ConfigureAwait(true);
}
