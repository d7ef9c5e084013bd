using System.Diagnostics.CodeAnalysis;
using Ray.Objects;

namespace Ray;

/// <summary>
/// The refs of a streaming call (<c>RemoteStream</c>, Ray's <c>ObjectRefGenerator</c>), in the
/// order its generator yields the items, each as soon as it is produced. Enumerate it
/// synchronously (<c>foreach</c>, <see cref="TryNext"/>) or asynchronously (<c>await foreach</c>,
/// <see cref="NextAsync"/>, <see cref="AsAsyncEnumerable"/>); every enumerator shares one position,
/// so each ref is handed out once. (It implements <see cref="IEnumerable{T}"/> only, so LINQ
/// calls on it are not ambiguous; <see cref="AsAsyncEnumerable"/> gives the async interface.)
/// <para>
/// When the generator throws, or its worker dies and is not retried, the next ref fails with
/// that error (at the position it was thrown) and the enumeration ends after it; refs taken
/// before stay valid. <see cref="Cancel"/> or <see cref="Dispose"/> stops the producer; items it
/// produced before stay readable (until disposed: then refs not taken yet are released).
/// </para>
/// </summary>
public sealed class ObjectRefGenerator<T> : IEnumerable<ObjectRef<T>>, IDisposable
{
    private readonly ItemStream<T> _stream;
    private int _disposed;

    internal ObjectRefGenerator(ItemStream<T> stream, ObjectRef<Unit> completed)
    {
        _stream = stream;
        Completed = completed;
        var result = completed.Entry;
        if (!result.TryAddListener(stream)) stream.OnObjectCompleted(result);
    }

    /// <summary>Ready once the generator finished (all items produced); fails with its error, or when cancelled.</summary>
    public ObjectRef<Unit> Completed { get; }

    /// <summary>Items produced so far that reached this process (a failed item for an error included).</summary>
    public long ProducedCount => _stream.Produced;

    /// <summary>Refs handed out so far.</summary>
    public long ConsumedCount => _stream.Consumed;

    /// <summary>True once every ref was handed out and the generator finished: enumeration ends.</summary>
    public bool IsFinished => _stream.IsDrained;

    /// <summary>
    /// The next ref, waiting up to <paramref name="timeout"/> for it. False when none came in
    /// time, or when the stream ended (then <see cref="IsFinished"/> is true).
    /// </summary>
    public bool TryNext(TimeSpan timeout, [NotNullWhen(true)] out ObjectRef<T>? item)
    {
        ThrowIfDisposed();
        var start = Environment.TickCount64;
        while (true)
        {
            if (_stream.TryTake(out var entry))
            {
                item = new ObjectRef<T>((ObjectEntry<T>)entry!);
                return true;
            }
            if (_stream.IsDrained)
            {
                item = null;
                return false;
            }
            var left = timeout == Timeout.InfiniteTimeSpan ? timeout
                : TimeSpan.FromTicks(Math.Max(0, (timeout - TimeSpan.FromMilliseconds(Environment.TickCount64 - start)).Ticks));
            if (left == TimeSpan.Zero || !_stream.WaitAvailable(left))
            {
                if (_stream.TryTake(out entry))
                {
                    item = new ObjectRef<T>((ObjectEntry<T>)entry!);
                    return true;
                }
                item = null;
                return false;
            }
            ThrowIfDisposed();
        }
    }

    /// <summary>
    /// Awaits the next ref; null once the stream ended. Cancelling <paramref name="cancellationToken"/>
    /// stops this wait only (<see cref="OperationCanceledException"/>); the generator goes on.
    /// </summary>
    public async ValueTask<ObjectRef<T>?> NextAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            ThrowIfDisposed();
            if (_stream.TryTake(out var entry)) return new ObjectRef<T>((ObjectEntry<T>)entry!);
            if (_stream.IsDrained) return null;
            await _stream.WaitAvailableAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Enumerates the refs, blocking for each until it is produced.</summary>
    public IEnumerator<ObjectRef<T>> GetEnumerator()
    {
        while (TryNext(Timeout.InfiniteTimeSpan, out var item)) yield return item;
    }

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>Enumerates the refs asynchronously (<c>await foreach</c>), each as soon as it is produced.</summary>
    public async IAsyncEnumerator<ObjectRef<T>> GetAsyncEnumerator(CancellationToken cancellationToken = default)
    {
        while (await NextAsync(cancellationToken).ConfigureAwait(false) is { } item) yield return item;
    }

    /// <summary>The refs as an <see cref="IAsyncEnumerable{T}"/> (for async LINQ and APIs that take one).</summary>
    public IAsyncEnumerable<ObjectRef<T>> AsAsyncEnumerable() => new AsyncView(this);

    private sealed class AsyncView(ObjectRefGenerator<T> generator) : IAsyncEnumerable<ObjectRef<T>>
    {
        public IAsyncEnumerator<ObjectRef<T>> GetAsyncEnumerator(CancellationToken cancellationToken = default) =>
            generator.GetAsyncEnumerator(cancellationToken);
    }

    /// <summary>
    /// Stops the generator (as Ray's <c>ray.cancel</c> on it): it produces nothing more, and after
    /// the items produced so far the next ref fails with <see cref="TaskCancelledException"/>.
    /// False when it had already finished.
    /// </summary>
    public bool Cancel()
    {
        ThrowIfDisposed();
        return CancelTask();
    }

    private bool CancelTask()
    {
        var producer = Completed.Entry.Producer;
        return producer is not null && producer.Cancel();
    }

    /// <summary>Stops the generator if it still runs and releases the refs not handed out; refs taken stay valid.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        GC.SuppressFinalize(this);
        if (!_stream.IsFinished) CancelTask();
        _stream.Abandon();
        Completed.Dispose();
    }

    /// <summary>
    /// A generator collected without <see cref="Dispose"/>: nobody can take its items any more, so
    /// the producer is stopped and the items not taken are freed (on the thread pool: stopping a
    /// producer in a worker process sends a frame, which a finalizer must not wait for).
    /// </summary>
    ~ObjectRefGenerator()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        var stream = _stream;
        ThreadPool.UnsafeQueueUserWorkItem(static s => s.Abandon(), stream, preferLocal: false);
    }

    private void ThrowIfDisposed()
    {
        if (Volatile.Read(ref _disposed) != 0) throw new ObjectDisposedException(nameof(ObjectRefGenerator<T>));
    }
}
