using Ray.Objects;

namespace Ray.Serialization;

/// <summary>
/// Ambient state for one serialize or deserialize call on this thread: the store that
/// resolves object ids, and the objects a serialized value refers to (so the store can keep
/// them alive as long as the outer object lives, as Ray's "contained in" references do).
/// </summary>
internal static class SerializationContext
{
    [ThreadStatic] private static MemoryStore? t_store;
    [ThreadStatic] private static List<ObjectEntry>? t_contained;
    [ThreadStatic] private static Cluster.Wire.IncomingRefs? t_incoming;

    /// <summary>
    /// Refs that came from another process with the value being read (by their sender's ids):
    /// <see cref="ObjectRefFormatter{T}"/> makes objects of this store from them.
    /// </summary>
    internal static Cluster.Wire.IncomingRefs? Incoming => t_incoming;

    /// <summary>Makes <paramref name="incoming"/> the refs of the values read on this thread until the scope ends.</summary>
    internal static IncomingScope WithIncoming(Cluster.Wire.IncomingRefs incoming)
    {
        var previous = t_incoming;
        t_incoming = incoming;
        return new IncomingScope(previous);
    }

    internal readonly struct IncomingScope(Cluster.Wire.IncomingRefs? previous) : IDisposable
    {
        public void Dispose() => t_incoming = previous;
    }

    internal static MemoryStore Store =>
        t_store ?? throw new InvalidOperationException("ObjectRef values can only be (de)serialized by the Ray runtime.");

    internal static Scope Enter(MemoryStore store, bool collect)
    {
        var prevStore = t_store;
        var prevList = t_contained;
        t_store = store;
        t_contained = collect ? new List<ObjectEntry>() : null;
        return new Scope(prevStore, prevList);
    }

    internal static void NoteContained(ObjectEntry entry) => t_contained?.Add(entry);

    internal static ObjectEntry[]? TakeContained()
    {
        var list = t_contained;
        return list is { Count: > 0 } ? list.ToArray() : null;
    }

    internal readonly struct Scope(MemoryStore? store, List<ObjectEntry>? contained) : IDisposable
    {
        public void Dispose()
        {
            t_store = store;
            t_contained = contained;
        }
    }
}
