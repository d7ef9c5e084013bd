using Ray.Objects;
using Ray.Serialization;

namespace Ray.Tasks;

/// <summary>
/// A task's stored argument: the value itself (immutable types), its serialized copy, or the
/// referenced object (held with one reference until the task is done).
/// </summary>
internal struct ArgSlot<T>
{
    private T? _value;
    private byte[]? _bytes;
    private int _length;
    private bool _pooled;
    private ObjectEntry[]? _contained;

    internal ObjectEntry<T>? Ref { get; private set; }

    /// <summary>
    /// The object of an ObjectRef passed as the argument itself (not resolved), when tasks run
    /// in worker processes: the ref travels with its value, so the task waits until it is ready
    /// (without failing when it failed: the task gets the failed ref). Held with one reference.
    /// </summary>
    internal ObjectEntry? PassedRef { get; private set; }

    /// <summary>Captures an argument at submission; serializing here surfaces bad types at once.</summary>
    internal static ArgSlot<T> From(in Arg<T> arg, ObjectStore store, FunctionDescriptor fn, int index)
    {
        var slot = new ArgSlot<T>();
        if (arg.Ref is { } r)
        {
            r.ThrowIfDisposed();
            var entry = r.TypedEntry;
            entry.AddRef(); // a submitted-task reference
            GC.KeepAlive(r);
            slot.Ref = entry;
        }
        else if (Codec<T>.IsDirect)
        {
            slot._value = arg.Value;
            if (store.TasksLeaveProcess && arg.Value is ObjectRef passed)
            {
                passed.ThrowIfDisposed();
                passed.Entry.AddRef();
                slot.PassedRef = passed.Entry;
            }
        }
        else
        {
            var s = Codec<T>.Serialize(arg.Value!, store, new ArgSite(fn, index));
            slot._bytes = s.Buffer;
            slot._length = s.Length;
            slot._pooled = s.Pooled;
            slot._contained = s.Contained;
        }
        return slot;
    }

    internal readonly T Resolve(ObjectStore store)
    {
        if (Ref is { } r) return r.GetValue();
        if (_bytes is not null) return Codec<T>.Deserialize(new ReadOnlySpan<byte>(_bytes, 0, Math.Max(0, _length)), _length, store);
        return _value!;
    }

    /// <summary>Writes the argument for a worker process (its ref, if any, is ready: the task was queued).</summary>
    internal readonly void WriteTo(Cluster.Wire.WireWriter w, ObjectStore store)
    {
        if (Ref is { } r) r.WriteWire(w);
        else if (_bytes is not null) Cluster.Wire.ValueWire.WriteSerialized(w, _bytes, _length);
        else Cluster.Wire.ValueWire.WriteDirect(w, _value);
    }

    internal void Release(ObjectStore store)
    {
        Ref?.Release();
        Ref = null;
        PassedRef?.Release();
        PassedRef = null;
        _value = default;
        if (_pooled && _bytes is not null) store.Buffers.Return(_bytes);
        _bytes = null;
        if (_contained is { } c) foreach (var e in c) e.Release();
        _contained = null;
    }
}

/// <summary>Names an argument in serialization errors, formatted only when one happens.</summary>
internal readonly struct ArgSite(FunctionDescriptor fn, int index)
{
    public override string ToString() => $"argument {index} of {fn.Name}";
}
