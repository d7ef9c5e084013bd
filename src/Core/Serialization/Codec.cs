using System.Diagnostics.CodeAnalysis;
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
    internal static SerializedValue Serialize<TSite>(in T value, MemoryStore store, TSite where)
    {
        if (Kind == CodecKind.RawArray)
        {
            if (value is null) return new SerializedValue([], -1, false, null); // -1 marks null
            return Raw!.Serialize(value, store.Buffers);
        }
        try
        {
            using var scope = SerializationContext.Enter(store, collect: true);
            try
            {
                var bytes = MemoryPackSerializer.Serialize(value);
                return new SerializedValue(bytes, bytes.Length, false, SerializationContext.TakeContained());
            }
            catch
            {
                // The refs written before the failure took references: give them back.
                var taken = SerializationContext.TakeContained();
                if (taken is not null) foreach (var e in taken) e.Release();
                throw;
            }
        }
        catch (Exception e) when (e is not RayException)
        {
            throw ExceptionFactory.CannotSerialize(typeof(T), where?.ToString() ?? "a value", e);
        }
    }

    /// <summary>The raw bytes of an unmanaged array (RawArray types only): no copy.</summary>
    internal static ReadOnlySpan<byte> RawBytes(in T value) => Raw!.AsBytes(value!);

    // MemoryPack annotates T for its reflection fallback (formatters of types without generated
    // code). Under NativeAOT (native/) only Direct and RawArray types reach the store, and
    // [MemoryPackable] types bring source-generated formatters, so nothing here needs it.
    [UnconditionalSuppressMessage("Trimming", "IL2091", Justification = "MemoryPack formatters are source-generated; see above.")]
    internal static T Deserialize(ReadOnlySpan<byte> data, int length, MemoryStore store)
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

/// <summary>
/// Makes the raw codec of an element type. The common element types are built without
/// reflection, so NativeAOT (the C library, native/) has their code compiled ahead of time;
/// other unmanaged structs are instantiated by reflection where the runtime can generate code
/// (JIT), and go through MemoryPack where it cannot (NativeAOT).
/// </summary>
internal static class RawArrayCodecFactory
{
    internal static bool IsUnmanaged(Type t) =>
        t.IsValueType && (IsKnown(t) || (RuntimeFeature.IsDynamicCodeSupported && IsUnmanagedByReflection(t)));

    internal static IRawArrayCodec Create(Type arrayType)
    {
        var e = arrayType.GetElementType()!;
        return CreateKnown(e) ?? (RuntimeFeature.IsDynamicCodeSupported
            ? CreateByReflection(e)
            : throw new NotSupportedException($"No ahead-of-time raw codec for arrays of {e.FullName}."));
    }

    private static bool IsKnown(Type t) =>
        t == typeof(byte) || t == typeof(sbyte) || t == typeof(short) || t == typeof(ushort) ||
        t == typeof(int) || t == typeof(uint) || t == typeof(long) || t == typeof(ulong) ||
        t == typeof(float) || t == typeof(double) || t == typeof(Half) || t == typeof(char) ||
        t == typeof(bool) || t == typeof(nint) || t == typeof(nuint) || t == typeof(decimal) ||
        t == typeof(Guid) || t == typeof(DateTime) || t == typeof(TimeSpan);

    private static IRawArrayCodec? CreateKnown(Type t)
    {
        if (t == typeof(byte)) return new RawArrayCodec<byte>();
        if (t == typeof(sbyte)) return new RawArrayCodec<sbyte>();
        if (t == typeof(short)) return new RawArrayCodec<short>();
        if (t == typeof(ushort)) return new RawArrayCodec<ushort>();
        if (t == typeof(int)) return new RawArrayCodec<int>();
        if (t == typeof(uint)) return new RawArrayCodec<uint>();
        if (t == typeof(long)) return new RawArrayCodec<long>();
        if (t == typeof(ulong)) return new RawArrayCodec<ulong>();
        if (t == typeof(float)) return new RawArrayCodec<float>();
        if (t == typeof(double)) return new RawArrayCodec<double>();
        if (t == typeof(Half)) return new RawArrayCodec<Half>();
        if (t == typeof(char)) return new RawArrayCodec<char>();
        if (t == typeof(bool)) return new RawArrayCodec<bool>();
        if (t == typeof(nint)) return new RawArrayCodec<nint>();
        if (t == typeof(nuint)) return new RawArrayCodec<nuint>();
        if (t == typeof(decimal)) return new RawArrayCodec<decimal>();
        if (t == typeof(Guid)) return new RawArrayCodec<Guid>();
        if (t == typeof(DateTime)) return new RawArrayCodec<DateTime>();
        if (t == typeof(TimeSpan)) return new RawArrayCodec<TimeSpan>();
        return null;
    }

    [RequiresDynamicCode("Instantiates a generic method over a value type at run time.")]
    private static bool IsUnmanagedByReflection(Type t) =>
        !(bool)typeof(RuntimeHelpers).GetMethod(nameof(RuntimeHelpers.IsReferenceOrContainsReferences))!
            .MakeGenericMethod(t).Invoke(null, null)!;

    [RequiresDynamicCode("Instantiates a generic type over a value type at run time.")]
    [UnconditionalSuppressMessage("Trimming", "IL2071", Justification = "RawArrayCodec<T> has a public parameterless constructor, kept by its direct uses above.")]
    [UnconditionalSuppressMessage("Trimming", "IL2076", Justification = "RawArrayCodec<T> has a public parameterless constructor, kept by its direct uses above.")]
    private static IRawArrayCodec CreateByReflection(Type element) =>
        (IRawArrayCodec)Activator.CreateInstance(typeof(RawArrayCodec<>).MakeGenericType(element))!;
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
