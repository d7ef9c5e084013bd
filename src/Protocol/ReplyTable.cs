using System.Collections.Concurrent;

namespace Ray.Protocol;

/// <summary>
/// The one request/response correlation table of the runtime's clients (the raylet client, a
/// driver's control link, the object-store client): request ids, the task each reply
/// completes, and a close that fails every pending request and every later one.
/// Thread-safe; replies complete their task asynchronously (never inline on the receive loop).
/// </summary>
/// <typeparam name="T">What a reply carries to its waiter.</typeparam>
internal sealed class ReplyTable<T>
{
    private readonly ConcurrentDictionary<ulong, TaskCompletionSource<T>> _pending = new();
    private long _nextId;
    private Func<Exception>? _closed;

    /// <summary>Requests waiting for their reply.</summary>
    internal int Count => _pending.Count;

    /// <summary>A fresh request id (also for one-way frames that share the id space).</summary>
    internal ulong NextId() => (ulong)Interlocked.Increment(ref _nextId);

    /// <summary>
    /// Registers a request: its id, and the task its reply completes. Once the table is closed
    /// (<see cref="FailAll"/>) the task is failed already, so a request made while the
    /// connection closes never waits for a reply that cannot come.
    /// </summary>
    internal (ulong Id, Task<T> Reply) Add()
    {
        var id = NextId();
        var tcs = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = tcs;
        // FailAll publishes _closed before it sweeps: either its sweep finds this entry or this read sees it.
        if (Volatile.Read(ref _closed) is { } closed && _pending.TryRemove(id, out _)) tcs.TrySetException(closed());
        return (id, tcs.Task);
    }

    /// <summary>Completes request <paramref name="id"/> with its reply; false when no such request waits (timed out, forgotten, or never made).</summary>
    internal bool Complete(ulong id, T reply) => _pending.TryRemove(id, out var tcs) && tcs.TrySetResult(reply);

    /// <summary>Fails request <paramref name="id"/>; false when no such request waits.</summary>
    internal bool Fail(ulong id, Exception error) => _pending.TryRemove(id, out var tcs) && tcs.TrySetException(error);

    /// <summary>Forgets request <paramref name="id"/> (its waiter gave up); a late reply then finds nothing.</summary>
    internal void Forget(ulong id) => _pending.TryRemove(id, out _);

    /// <summary>Closes the table: every pending request, and every one added later, fails with a new <paramref name="error"/>.</summary>
    internal void FailAll(Func<Exception> error)
    {
        ArgumentNullException.ThrowIfNull(error);
        Interlocked.CompareExchange(ref _closed, error, null);
        foreach (var id in _pending.Keys)
            if (_pending.TryRemove(id, out var tcs)) tcs.TrySetException(error());
    }
}
