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
    /// When tasks run in worker processes: what the task must wait for before it is sent (an
    /// actor handle's actor must exist, since the handle goes with its worker's address). Refs
    /// (passed as the argument itself, or inside a serialized argument) are not waited for: a
    /// ready one goes with its value, a pending one as a borrowed ref whose value the worker asks
    /// its owner for (RefWire, as Ray sends refs unresolved). Null otherwise.
    /// </summary>
    internal ObjectEntry[]? Passed { get; private set; }

    // The passed ObjectRef's object, held with one reference (refs inside a value are held by _contained).
    private ObjectEntry? _passedRef;

    /// <summary>Captures an argument at submission; serializing here surfaces bad types at once.</summary>
    internal static ArgSlot<T> From(in Arg<T> arg, MemoryStore store, FunctionDescriptor fn, int index)
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
                slot._passedRef = passed.Entry; // held while the task runs: the worker may ask for its value
            }
            else if (store.TasksLeaveProcess && arg.Value is IActorInstanceHolder { Instance.Created: { } created } && created.TryAddRef())
            {
                // An actor handle goes with the address of the actor's worker: once it exists.
                slot._passedRef = created;
                slot.Passed = [created];
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

    internal readonly T Resolve(MemoryStore store)
    {
        if (Ref is { } r) return r.GetValue();
        if (_bytes is not null) return Codec<T>.Deserialize(new ReadOnlySpan<byte>(_bytes, 0, Math.Max(0, _length)), _length, store);
        return _value!;
    }

    // ---- what the argument holds, for a submitter that sends it to another process ----

    /// <summary>The serialized bytes of a by-value argument (null for a ref or a direct value).</summary>
    internal readonly byte[]? Bytes => _bytes;

    /// <summary>The length of <see cref="Bytes"/> (-1 for null).</summary>
    internal readonly int Length => _length;

    /// <summary>Objects whose refs the serialized value holds.</summary>
    internal readonly ObjectEntry[]? Contained => _contained;

    /// <summary>The value of a direct-type argument.</summary>
    internal readonly T? Value => _value;

    /// <summary>True when every object in <paramref name="passed"/> is complete (or there are none).</summary>
    internal static bool AllCompleted(ObjectEntry[]? passed)
    {
        if (passed is null) return true;
        foreach (var e in passed) if (!e.IsCompleted) return false;
        return true;
    }

    internal void Release(MemoryStore store)
    {
        Ref?.Release();
        Ref = null;
        _passedRef?.Release();
        _passedRef = null;
        Passed = null;
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
