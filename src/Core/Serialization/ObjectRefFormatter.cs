using System.Buffers;
using MemoryPack;
using Ray.Objects;

namespace Ray.Serialization;

/// <summary>
/// Writes an <see cref="ObjectRef{T}"/> inside a serialized value as its id. Writing exports
/// the object (so it can be found by id) and records it as contained in the outer value;
/// reading finds it again and makes a new handle holding its own reference.
/// </summary>
internal sealed class ObjectRefFormatter<T> : MemoryPackFormatter<ObjectRef<T>>
{
    public override void Serialize<TBufferWriter>(ref MemoryPackWriter<TBufferWriter> writer, scoped ref ObjectRef<T>? value)
    {
        if (value is null)
        {
            writer.WriteUnmanaged((byte)0);
            return;
        }
        value.ThrowIfDisposed();
        var entry = value.Entry;
        entry.Store.Export(entry); // in its own store, which forgets it when it is freed
        entry.AddRef(); // owned by the outer value from now on; released when it is freed
        SerializationContext.NoteContained(entry);
        writer.WriteUnmanaged((byte)1, entry.Id.Owner, entry.Id.Sequence);
    }

    public override void Deserialize(ref MemoryPackReader reader, scoped ref ObjectRef<T>? value)
    {
        reader.ReadUnmanaged(out byte present);
        if (present == 0)
        {
            value = null;
            return;
        }
        reader.ReadUnmanaged(out ulong owner, out ulong sequence);
        var id = new ObjectId(owner, sequence);
        if (SerializationContext.Incoming is { } incoming && incoming.TryResolve<T>(id, SerializationContext.Store, out var arrived))
        {
            value = arrived; // a ref that came with the value from another process
            return;
        }
        if ((!SerializationContext.Store.TryLookup(id, out var entry) && MemoryStore.WorkerArguments?.TryLookup(id, out entry) != true)
            || entry is not ObjectEntry<T> typed)
            throw ExceptionFactory.UnknownObject(id);
        typed.AddRef();
        value = new ObjectRef<T>(typed);
    }
}

internal static class Formatters
{
    private static int s_registered;

    /// <summary>Registers the runtime's formatters with MemoryPack once per process.</summary>
    internal static void EnsureRegistered()
    {
        if (Interlocked.Exchange(ref s_registered, 1) == 1) return;
        MemoryPackFormatterProvider.RegisterGenericType(typeof(ObjectRef<>), typeof(ObjectRefFormatter<>));
    }
}
