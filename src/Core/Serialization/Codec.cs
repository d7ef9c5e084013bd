using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using MemoryPack;
using Ray.Objects;

namespace Ray.Serialization;

/// <summary>How values of one type are stored.</summary>
internal enum CodecKind
{
    /// <summary>Kept as the value itself: it cannot be mutated through the caller's copy
    /// (unmanaged value types, strings, runtime handles), so no copy is needed.</summary>
    Direct,
    /// <summary>An array of unmanaged values, kept as its raw bytes (one memcpy each way).</summary>
    RawArray,
    /// <summary>Serialized with MemoryPack, so the store holds an independent copy.</summary>
    MemoryPack,
}

/// <summary>
/// The serializer for <typeparamref name="T"/>, chosen once per type. MemoryPack was picked
/// over MessagePack: it restores and runs its source generator here (MessagePack 3.x does not
/// restore), its format is a near-memcpy of unmanaged data, and it serializes without boxing.
/// </summary>
internal static class Codec<T>
{
    internal static readonly CodecKind Kind = Classify();
    private static readonly IRawArrayCodec? Raw = Kind == CodecKind.RawArray ? RawArrayCodecFactory.Create(typeof(T)) : null;

    internal static bool IsDirect => Kind == CodecKind.Direct;

    private static CodecKind Classify()
    {
        var t = typeof(T);
        if (!RuntimeHelpers.IsReferenceOrContainsReferences<T>()) return CodecKind.Direct;
        if (t == typeof(string) || typeof(ObjectRef).IsAssignableFrom(t) || typeof(IActorHandle).IsAssignableFrom(t))
            return CodecKind.Direct;
        if (t.IsSZArray && RawArrayCodecFactory.IsUnmanaged(t.GetElementType()!)) return CodecKind.RawArray;
        return CodecKind.MemoryPack;
    }

    /// <summary>Serializes <paramref name="value"/> into bytes owned by the store.</summary>
    /// <remarks>`where` names what is serialized in an error message ("argument 2 of Fns.Add"); formatted only on error.</remarks>
    internal static SerializedValue Serialize<TSite>(in T value, ObjectStore store, TSite where)
    {
        if (Kind == CodecKind.RawArray)
        {
            if (value is null) return new SerializedValue([], -1, false, null); // -1 marks null
            return Raw!.Serialize(value, store.Buffers);
        }
        try
        {
            using var scope = SerializationContext.Enter(store, collect: true);
            var bytes = MemoryPackSerializer.Serialize(value);
            return new SerializedValue(bytes, bytes.Length, false, SerializationContext.TakeContained());
        }
        catch (Exception e) when (e is not RayException)
        {
            throw ExceptionFactory.CannotSerialize(typeof(T), where?.ToString() ?? "a value", e);
        }
    }

    /// <summary>The raw bytes of an unmanaged array (RawArray types only): no copy.</summary>
    internal static ReadOnlySpan<byte> RawBytes(in T value) => Raw!.AsBytes(value!);

    internal static T Deserialize(ReadOnlySpan<byte> data, int length, ObjectStore store)
    {
        if (Kind == CodecKind.RawArray)
            return length < 0 ? default! : (T)Raw!.Deserialize(data);
        try
        {
            using var scope = SerializationContext.Enter(store, collect: false);
            return MemoryPackSerializer.Deserialize<T>(data)!;
        }
        catch (Exception e) when (e is not RayException)
        {
            throw ExceptionFactory.CannotDeserialize(typeof(T), e);
        }
    }
}

/// <summary>Raw byte copies of unmanaged arrays, made once per element type.</summary>
internal interface IRawArrayCodec
{
    SerializedValue Serialize(object array, LargeBufferPool pool);
    ReadOnlySpan<byte> AsBytes(object array);
    object Deserialize(ReadOnlySpan<byte> data);
}

internal static class RawArrayCodecFactory
{
    internal static bool IsUnmanaged(Type t) =>
        t.IsValueType && !(bool)typeof(RuntimeHelpers).GetMethod(nameof(RuntimeHelpers.IsReferenceOrContainsReferences))!
            .MakeGenericMethod(t).Invoke(null, null)!;

    internal static IRawArrayCodec Create(Type arrayType) =>
        (IRawArrayCodec)Activator.CreateInstance(typeof(RawArrayCodec<>).MakeGenericType(arrayType.GetElementType()!))!;
}

internal sealed class RawArrayCodec<TElement> : IRawArrayCodec where TElement : unmanaged
{
    public SerializedValue Serialize(object array, LargeBufferPool pool)
    {
        var src = MemoryMarshal.AsBytes(((TElement[])array).AsSpan());
        var pooled = src.Length >= LargeBufferPool.MinPooledSize;
        var buffer = pooled ? pool.Rent(src.Length) : GC.AllocateUninitializedArray<byte>(src.Length);
        src.CopyTo(buffer);
        return new SerializedValue(buffer, src.Length, pooled, null);
    }

    public ReadOnlySpan<byte> AsBytes(object array) => MemoryMarshal.AsBytes(((TElement[])array).AsSpan());

    public object Deserialize(ReadOnlySpan<byte> data)
    {
        var result = GC.AllocateUninitializedArray<TElement>(data.Length / Unsafe.SizeOf<TElement>());
        data.CopyTo(MemoryMarshal.AsBytes(result.AsSpan()));
        return result;
    }
}
