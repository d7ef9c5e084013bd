using System.Buffers;
using Ray.Cluster.Wire;
using Ray.Contract.Messages;
using Ray.Objects;
using Ray.Plasma.Client;
using Ray.Protocol;

namespace Ray.Cluster.WorkerSide;

/// <summary>
/// A worker process's borrowed objects: refs that arrived while their objects were still
/// pending at the owner (RefWire state 2). Each becomes an object of this process under the
/// owner's id, and the worker asks the owner for its value at once (WantObject, through the
/// raylet's registration link, whose receive thread is free while a task runs on the session's).
/// The owner answers when the object is done (ObjectValue); the same id arriving again while
/// the answer is awaited shares the one object. An owner that is gone, or that freed the object
/// first, fails it with <see cref="ObjectLostException"/>.
/// </summary>
internal static class BorrowedObjects
{
    private delegate void BodySink(byte state, ReadOnlySpan<byte> rest);

    private sealed record Waiting(ObjectEntry Entry, BodySink Complete);

    // Per id, every object made for it (one per value type it arrived as); one WantObject per id.
    private static readonly Dictionary<ObjectId, List<Waiting>> s_waiting = new();

    /// <summary>Sends a WantObject payload to the raylet (set by the worker host once registered; null outside workers).</summary>
    internal static Action<byte[]>? SendWant { get; set; }

    /// <summary>A handle to the borrowed object <paramref name="id"/>, made (and asked for) on first sight.</summary>
    internal static ObjectRef<T> Borrow<T>(ObjectId id, MemoryStore store, Func<ObjectId, long, PlasmaBuffer>? openPlasma)
    {
        // The owner's own object, come back (a value a worker stored, read where the ref was made).
        if (store.TryLookup(id, out var own) && own is ObjectEntry<T> mine && mine.TryAddRef()) return new ObjectRef<T>(mine);
        ObjectEntry<T> entry;
        lock (s_waiting)
        {
            var first = !s_waiting.TryGetValue(id, out var list);
            if (list is not null)
                foreach (var w in list)
                    if (w.Entry is ObjectEntry<T> typed && typed.TryAddRef()) return new ObjectRef<T>(typed);
            entry = store.CreatePending<T>(id);
            (list ??= s_waiting[id] = []).Add(new Waiting(entry, (state, rest) => RefWire.CompleteFromBody(entry, state, rest, openPlasma)));
            if (!first) return new ObjectRef<T>(entry); // asked for already: the answer completes every object of the id
        }
        var send = SendWant;
        if (send is null)
            FailAll(id, new NotSupportedException($"object {id} arrived still pending, and this process cannot ask its owner for it (not a worker process)"));
        else
        {
            try { send(ClusterCodec.EncodeWantObject(id.Owner, id.Sequence)); }
            catch (Exception e) when (e is RayClusterException or ObjectDisposedException or InvalidOperationException or IOException)
            {
                FailAll(id, new ObjectLostException(id, $"Object {id} cannot be read: its owner cannot be asked ({e.Message})."));
            }
        }
        return new ObjectRef<T>(entry);
    }

    /// <summary>Sends a CancelObject payload to the raylet (set with <see cref="SendWant"/>).</summary>
    internal static Action<byte[]>? SendCancel { get; set; }

    /// <summary>
    /// Cancels the task making borrowed object <paramref name="id"/>, through its owner (Ray's
    /// cancel from a process that does not own the ref). False when the object is not a borrowed
    /// one awaiting its value (done already, or not borrowed).
    /// </summary>
    internal static bool TryCancel(ObjectId id, bool force, bool recursive)
    {
        lock (s_waiting) if (!s_waiting.ContainsKey(id)) return false; // done already, or not borrowed
        if (SendCancel is not { } send) return false;
        try { send(ClusterCodec.EncodeCancelObject(id.Owner, id.Sequence, force, recursive)); }
        catch (Exception e) when (e is RayClusterException or ObjectDisposedException or InvalidOperationException or IOException) { return false; }
        return true;
    }

    private static List<Waiting>? Take(ObjectId id)
    {
        lock (s_waiting) return s_waiting.Remove(id, out var w) ? w : null;
    }

    private static void FailAll(ObjectId id, Exception error)
    {
        if (Take(id) is { } list) foreach (var w in list) w.Entry.Fail(error);
    }

    /// <summary>An ObjectValue the raylet passed on: <c>u64 owner | u64 sequence | ref body</c>. Values nobody waits for are dropped.</summary>
    /// <exception cref="ProtocolException">Malformed.</exception>
    internal static void OnValue(ReadOnlySequence<byte> payload)
    {
        var bytes = payload.ToArray();
        var off = 0;
        var id = new ObjectId(ValueWire.ReadU64(bytes, ref off), ValueWire.ReadU64(bytes, ref off));
        var state = ValueWire.ReadU8(bytes, ref off);
        if (Take(id) is not { } list) return;
        foreach (var waiting in list)
        {
            try
            {
                // The runtime's own lost/freed errors stay what they are (with the id), not a remote error.
                if (state == 1 && LostOrFreed(id, bytes.AsSpan(off)) is { } lost) waiting.Entry.Fail(lost);
                else waiting.Complete(state, bytes.AsSpan(off));
            }
            catch (Exception e)
            {
                // Whatever went wrong (unreadable bytes, the node-store copy already gone), the
                // reader gets it; this runs on the raylet link's thread, which must live on.
                waiting.Entry.Fail(e as RayException ?? new ObjectLostException(id, $"Object {id} arrived from its owner but cannot be read here: {e.Message}"));
            }
        }
    }

    private static Exception? LostOrFreed(ObjectId id, ReadOnlySpan<byte> error)
    {
        var off = 0;
        var (type, message, _) = TaskWire.ReadError(error, ref off);
        return type switch
        {
            "Ray.ObjectLostException" => new ObjectLostException(id, message),
            "Ray.ObjectFreedException" => ExceptionFactory.FreedByUser(id),
            "Ray.TaskCancelledException" => new TaskCancelledException(default, message),
            _ => null,
        };
    }
}
