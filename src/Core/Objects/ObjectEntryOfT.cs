using System.Buffers;
using System.Runtime.InteropServices;
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
    private nint _native; // or the bytes in native memory (a put from C, see SetNativeBytes); freed with the value
    private int _length;
    private bool _pooled;
    private int _inPlasmaFlag; // 1: the bytes live in the shared-memory store under this object's id
    private bool _inPlasma { get => Volatile.Read(ref _inPlasmaFlag) != 0; set => Volatile.Write(ref _inPlasmaFlag, value ? 1 : 0); }

    internal ObjectEntry(ObjectId id, MemoryStore store) : base(id, store) { }

    internal override Type ValueType => typeof(T);

    /// <summary>Stores the value and completes the object. Throws a serialization error
    /// (leaving the object pending) when the value cannot be serialized.</summary>
    internal void SetValue(in T value, string where)
    {
        if (Codec<T>.IsDirect)
        {
            _value = value;
        }
        else if (Codec<T>.Kind == CodecKind.RawArray && value is not null && Codec<T>.RawBytes(value).Length >= Store.LargeObjects.Threshold)
        {
            SetRawBytes(Codec<T>.RawBytes(value)); // a large unmanaged array: one copy, straight into shared memory (completes)
            return;
        }
        else
        {
            var s = Codec<T>.Serialize(value, Store, where);
            if (s.Length >= Store.LargeObjects.Threshold)
            {
                try { Store.LargeObjects.Put(Id, s.Span); }
                catch { ReleaseContained(s.Contained); throw; }
                finally { if (s.Pooled) Store.Buffers.Return(s.Buffer); }
                _inPlasma = true;
                _length = s.Length;
                SizeBytes = s.Length;
                Contained = s.Contained;
            }
            else SetSerialized(s);
        }
        if (!CompleteReady()) DiscardLateValue();
    }

    /// <summary>Stores the raw bytes of an unmanaged array (RawArray types) without an intermediate array.</summary>
    internal void SetRawBytes(ReadOnlySpan<byte> bytes)
    {
        if (Codec<T>.Kind != CodecKind.RawArray) throw new InvalidOperationException($"{typeof(T).Name} is not an array of unmanaged values");
        if (bytes.Length >= Store.LargeObjects.Threshold)
        {
            Store.LargeObjects.Put(Id, bytes);
            _inPlasma = true;
            _length = bytes.Length;
            SizeBytes = bytes.Length;
        }
        else
        {
            var copy = GC.AllocateUninitializedArray<byte>(bytes.Length);
            bytes.CopyTo(copy);
            SetSerialized(new SerializedValue(copy, copy.Length, false, null));
        }
        if (!CompleteReady()) DiscardLateValue();
    }

    /// <summary>
    /// Stores the raw bytes of an unmanaged array in native memory, not in a managed array, and
    /// completes: for puts from C, whose views then point at the bytes themselves (no copy, no
    /// pin). Large objects go to shared memory as with <see cref="SetRawBytes"/>. Readers of
    /// native bytes hold a reference while they read (<see cref="ObjectEntry.TryAddRef"/>),
    /// since freed native memory, unlike a collected array, cannot be read safely.
    /// </summary>
    internal unsafe void SetNativeBytes(ReadOnlySpan<byte> bytes)
    {
        if (Codec<T>.Kind != CodecKind.RawArray || bytes.Length == 0 || bytes.Length >= Store.LargeObjects.Threshold)
        {
            SetRawBytes(bytes);
            return;
        }
        var native = (byte*)NativeMemory.Alloc((nuint)bytes.Length);
        bytes.CopyTo(new Span<byte>(native, bytes.Length));
        _length = bytes.Length;
        SizeBytes = bytes.Length;
        Volatile.Write(ref _native, (nint)native);
        if (!CompleteReady()) DiscardLateValue();
    }

    private unsafe ReadOnlySpan<byte> NativeSpan(nint native) => new((void*)native, _length);

    /// <summary>The native bytes, under a reference the caller gives back with <see cref="ObjectEntry.Release"/> once done reading.</summary>
    /// <exception cref="ObjectLostException">The object was freed (the memory may be gone).</exception>
    private ReadOnlySpan<byte> AcquireNative()
    {
        if (!TryAddRef()) throw ExceptionFactory.ObjectFreed(Id);
        var native = Volatile.Read(ref _native);
        if (native != 0) return NativeSpan(native);
        Release();
        throw ExceptionFactory.ObjectFreed(Id);
    }

    /// <summary>True while the bytes are in native memory (a put from C, not freed yet).</summary>
    internal bool HoldsNativeBytes => Volatile.Read(ref _native) != 0;

    private static void ReleaseContained(ObjectEntry[]? contained)
    {
        if (contained is not null) foreach (var c in contained) c.Release();
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
        if (!CompleteReady()) DiscardLateValue();
    }

    /// <summary>The value; the object must be completed. Throws its error if it failed.</summary>
    internal T GetValue()
    {
        ThrowIfNotReady();
        if (Codec<T>.IsDirect) return _value!;
        if (_inPlasma)
        {
            using var view = Store.LargeObjects.View(Id);
            return Codec<T>.Deserialize(view.Span, _length, Store);
        }
        if (Volatile.Read(ref _native) != 0)
        {
            var bytes = AcquireNative();
            try { return Codec<T>.Deserialize(bytes, _length, Store); }
            finally { Release(); }
        }
        var buffer = _buffer;
        if (buffer is null) throw ExceptionFactory.ObjectFreed(Id);
        return Codec<T>.Deserialize(new ReadOnlySpan<byte>(buffer, 0, Math.Max(0, _length)), _length, Store);
    }

    /// <summary>
    /// The address of a ready raw-array object's bytes where they stay, unmoved and mapped, until
    /// <see cref="ReleaseStableBytes"/>: the native memory of a put from C, or a connected
    /// driver's held view of the node store (<paramref name="shared"/>; a use of it is taken, so
    /// the store cannot reclaim it meanwhile). 0 when there is no such address (managed bytes
    /// move; an embedded store's object stays put only while a view pins it), and then there is
    /// nothing to give back. The caller must hold a reference taken with
    /// <see cref="ObjectEntry.TryAddRef"/> for as long as it uses the address.
    /// </summary>
    internal nint StableBytes(out int length, out bool shared)
    {
        length = _length;
        shared = false;
        if (!IsCompleted || IsFailed) return 0;
        var native = Volatile.Read(ref _native);
        if (native != 0) return native;
        if (!_inPlasma) return 0;
        var held = Store.LargeObjects.AcquireHeldAddress(Id, out var size);
        if (held == 0) return 0;
        if (size > int.MaxValue)
        {
            Store.LargeObjects.ReleaseHeld(Id);
            return 0;
        }
        length = (int)size;
        shared = true;
        return held;
    }

    /// <summary>Gives back what a non-zero <see cref="StableBytes"/> took (a use of the held view when it was shared).</summary>
    internal void ReleaseStableBytes()
    {
        if (_inPlasma) Store.LargeObjects.ReleaseHeld(Id);
    }

    /// <summary>
    /// The inline bytes of a ready raw-array object (not in shared memory), for callers that copy
    /// them out at once while they hold a reference (the C ABI's small views). False otherwise.
    /// </summary>
    internal bool TryGetInlineBytes(out ReadOnlySpan<byte> bytes)
    {
        bytes = default;
        if (Codec<T>.Kind != CodecKind.RawArray || !IsCompleted || IsFailed || _inPlasma || Volatile.Read(ref _native) != 0) return false;
        var buffer = Volatile.Read(ref _buffer);
        if (buffer is null || IsFreed) return false;
        bytes = new ReadOnlySpan<byte>(buffer, 0, Math.Max(0, _length));
        return true;
    }

    /// <summary>
    /// A zero-copy view of an unmanaged array's bytes: in shared memory for large objects,
    /// else the store's own immutable copy. Holds a reference to the object until disposed.
    /// </summary>
    internal ObjectView<TElement> OpenView<TElement>() where TElement : unmanaged
    {
        ThrowIfNotReady();
        if (Codec<T>.Kind != CodecKind.RawArray)
            throw new InvalidOperationException($"Object {Id} holds a {typeof(T).Name}, not an array of unmanaged values; views need raw array bytes.");
        if (!TryAddRef()) throw ExceptionFactory.ObjectFreed(Id);
        try
        {
            if (_inPlasma) return new ObjectView<TElement>(this, Store.LargeObjects.View(Id));
            var native = Volatile.Read(ref _native);
            if (native != 0) return new ObjectView<TElement>(this, native, _length);
            return new ObjectView<TElement>(this, _buffer ?? throw ExceptionFactory.ObjectFreed(Id), Math.Max(0, _length));
        }
        catch
        {
            Release();
            throw;
        }
    }

    internal override void Accept(IEntryVisitor visitor) => visitor.Visit(this);

    // ---- the stored form, for the object provider that moves values between processes ----

    /// <summary>True when the bytes live in the node's shared-memory store under <see cref="ObjectEntry.Id"/>.</summary>
    internal bool InNodeStore => _inPlasma;

    /// <summary>The serialized length (-1 for a null value); meaningful once completed and not direct.</summary>
    internal int StoredLength => _length;

    /// <summary>The value of a direct type (<see cref="Codec{T}.IsDirect"/>).</summary>
    internal T? DirectValue => _value;

    /// <summary>The managed serialized bytes (null when in native memory, in the node store, or freed).</summary>
    internal byte[]? StoredBytes => Volatile.Read(ref _buffer);

    /// <summary>
    /// Runs <paramref name="read"/> over the native bytes of a put from C, holding a reference
    /// while it reads; false when the bytes are not native.
    /// </summary>
    internal bool TryReadNative<TState>(TState state, ReadOnlySpanAction<byte, TState> read)
    {
        if (Volatile.Read(ref _native) == 0) return false;
        var bytes = AcquireNative();
        try { read(bytes, state); }
        finally { Release(); }
        return true;
    }

    /// <summary>Completes with a value of a direct type.</summary>
    internal void CompleteDirect(T value)
    {
        _value = value;
        if (!CompleteReady()) DiscardLateValue();
    }

    /// <summary>Completes with bytes another process put in the node's shared-memory store under this object's id.</summary>
    internal void CompleteInNodeStore(long size)
    {
        _length = (int)Math.Min(int.MaxValue, size);
        SizeBytes = size;
        _inPlasma = true;
        if (!CompleteReady()) DiscardLateValue();
    }

    protected override void DropValueForFree()
    {
        if (Interlocked.Exchange(ref _inPlasmaFlag, 0) == 1) Store.LargeObjects.Delete(Id); // open views keep it until released
        // A direct value stays until the last reference: a reader past the state check would see default(T).
        Volatile.Write(ref _buffer, null); // not back to the pool: a reader may still be deserializing it
        // Native bytes stay until the last reference: readers read them under one (AcquireNative).
    }

    // Idempotent and race-free: a late value and a free may both clear; each resource goes back once.
    protected override void ClearValue()
    {
        if (Interlocked.Exchange(ref _inPlasmaFlag, 0) == 1) Store.LargeObjects.Delete(Id);
        _value = default;
        var native = Interlocked.Exchange(ref _native, 0);
        if (native != 0) unsafe { NativeMemory.Free((void*)native); }
        var buffer = Interlocked.Exchange(ref _buffer, null);
        if (buffer is not null && _pooled) Store.Buffers.Return(buffer);
    }
}
