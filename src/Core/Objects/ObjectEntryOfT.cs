using Ray.Serialization;

namespace Ray.Objects;

/// <summary>
/// An object holding a <typeparamref name="T"/>: directly when the type cannot be mutated
/// through another copy, else as serialized bytes (each get deserializes a fresh copy, so a
/// reader can never change what another reader sees).
/// </summary>
internal sealed class ObjectEntry<T> : ObjectEntry
{
    private T? _value;
    private byte[]? _buffer;
    private int _length;
    private bool _pooled;

    internal ObjectEntry(ObjectId id, ObjectStore store) : base(id, store) { }

    internal override Type ValueType => typeof(T);

    /// <summary>Stores the value and completes the object. Throws a serialization error
    /// (leaving the object pending) when the value cannot be serialized.</summary>
    internal void SetValue(in T value, string where)
    {
        if (Codec<T>.IsDirect)
        {
            _value = value;
        }
        else
        {
            var s = Codec<T>.Serialize(value, Store, where);
            SetSerialized(s);
        }
        if (!CompleteReady()) ClearValue();
    }

    /// <summary>Stores bytes that were serialized earlier (a put's copy) and completes.</summary>
    internal void SetSerialized(in SerializedValue s)
    {
        _buffer = s.Buffer;
        _length = s.Length;
        _pooled = s.Pooled;
        Contained = s.Contained;
        SizeBytes = Math.Max(0, s.Length);
    }

    internal void CompleteWithSerialized(in SerializedValue s)
    {
        SetSerialized(s);
        if (!CompleteReady()) ClearValue();
    }

    /// <summary>The value; the object must be completed. Throws its error if it failed.</summary>
    internal T GetValue()
    {
        ThrowIfNotReady();
        if (Codec<T>.IsDirect) return _value!;
        var buffer = _buffer;
        if (buffer is null) throw ExceptionFactory.ObjectFreed(Id);
        return Codec<T>.Deserialize(new ReadOnlySpan<byte>(buffer, 0, Math.Max(0, _length)), _length, Store);
    }

    protected override void ClearValue()
    {
        _value = default;
        var buffer = _buffer;
        _buffer = null;
        if (buffer is not null && _pooled) Store.Buffers.Return(buffer);
    }
}
