using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using MemoryPack;
using Ray.Objects;
using Ray.Protocol;
using Ray.Serialization;

namespace Ray.Cluster.Wire;

/// <summary>
/// How one value (a task argument or result) travels between processes: <c>u8 tag</c> then
/// tag 0 (inline) <c>i32 length | bytes</c>, tag 1 (in the node's shared-memory store)
/// <c>u64 owner | u64 sequence | u32 node | i64 size</c> (node: the tag of the node whose store holds
/// it, Ray.Contract.Ids.OwnerIds, so another node can later find it), tag 2 (a null array), tag 3 (an ObjectRef, with its
/// value: <see cref="RefWire"/>), tag 4 (inline bytes that hold refs, with those refs' values:
/// <see cref="IncomingRefs"/>), tag 5 (an actor handle: <see cref="ActorWire"/>). The bytes are the store's
/// own form of the value (<see cref="Codec{T}"/>: raw bytes for unmanaged arrays, MemoryPack
/// otherwise); values the store keeps directly (unmanaged structs, strings) go through MemoryPack,
/// which writes unmanaged data as a plain copy.
/// </summary>
internal static class ValueWire
{
    internal const byte Inline = 0, InPlasma = 1, Null = 2, Ref = 3, WithRefs = 4, Actor = 5;

    [ThreadStatic] private static ArrayBufferWriter<byte>? t_scratch;

    internal static void WriteInline(PayloadWriter w, ReadOnlySpan<byte> bytes)
    {
        w.U8(Inline);
        w.Bytes(bytes);
    }

    internal static void WriteNull(PayloadWriter w) => w.U8(Null);

    /// <summary>Writes bytes in the store's serialized form: a length of -1 marks a null array.</summary>
    internal static void WriteSerialized(PayloadWriter w, byte[] buffer, int length)
    {
        if (length < 0) WriteNull(w);
        else WriteInline(w, new ReadOnlySpan<byte>(buffer, 0, length));
    }

    /// <summary>Writes a value in the shared-memory store of the node tagged <paramref name="node"/>.</summary>
    internal static void WritePlasma(PayloadWriter w, ObjectId id, long size, uint node)
    {
        w.U8(InPlasma);
        w.U64(id.Owner);
        w.U64(id.Sequence);
        w.U32(node);
        w.I64(size);
    }

    /// <summary>Writes a value the store keeps directly (Direct codec kind).</summary>
    [UnconditionalSuppressMessage("Trimming", "IL2091", Justification = "MemoryPack formatters are source-generated or built in.")]
    internal static void WriteDirect<T>(PayloadWriter w, in T value)
    {
        if (value is ObjectRef r)
        {
            RefWire.Write(w, r.Entry);
            return;
        }
        if (value is IActorInstanceHolder handle)
        {
            ActorWire.Write(w, handle.Instance);
            return;
        }
        var scratch = t_scratch ??= new ArrayBufferWriter<byte>(256);
        scratch.ResetWrittenCount();
        MemoryPackSerializer.Serialize(scratch, value);
        WriteInline(w, scratch.WrittenSpan);
    }

    [UnconditionalSuppressMessage("Trimming", "IL2091", Justification = "MemoryPack formatters are source-generated or built in.")]
    internal static T ReadDirect<T>(ReadOnlySpan<byte> bytes) => MemoryPackSerializer.Deserialize<T>(bytes)!;

    /// <summary>One value as read from a payload: inline bytes (valid while the frame is), a shared-memory object, or null.</summary>
    internal readonly ref struct WireValue
    {
        internal WireValue(byte tag, ReadOnlySpan<byte> bytes, ObjectId plasmaId, long size, uint location = 0)
        {
            Tag = tag;
            Bytes = bytes;
            PlasmaId = plasmaId;
            Size = size;
            Location = location;
        }

        internal byte Tag { get; }
        internal ReadOnlySpan<byte> Bytes { get; }
        internal ObjectId PlasmaId { get; }
        internal long Size { get; }

        /// <summary>For a shared-memory value: the tag of the node whose store holds it.</summary>
        internal uint Location { get; }
    }

    /// <summary>Reads one value from <paramref name="payload"/> at <paramref name="offset"/>, advancing it.</summary>
    /// <exception cref="ProtocolException">Truncated or an unknown tag.</exception>
    internal static WireValue Read(ReadOnlySpan<byte> payload, ref int offset) => Read(payload, ref offset, 0);

    /// <summary>How deep refs may nest in one value (a ref whose value holds refs, ...): a bound on the reader's recursion.</summary>
    internal const int MaxRefDepth = 16;

    /// <summary>Reads one value at <paramref name="depth"/> refs deep (see <see cref="MaxRefDepth"/>).</summary>
    internal static WireValue Read(ReadOnlySpan<byte> payload, ref int offset, int depth)
    {
        if (offset >= payload.Length) throw new ProtocolException("a value is missing its tag");
        var tag = payload[offset++];
        switch (tag)
        {
            case Inline:
            {
                var len = ReadI32(payload, ref offset);
                if (len < 0 || len > payload.Length - offset) throw new ProtocolException($"an inline value claims {len} bytes; {payload.Length - offset} are left");
                var bytes = payload.Slice(offset, len);
                offset += len;
                return new WireValue(tag, bytes, default, len);
            }
            case InPlasma:
            {
                var owner = ReadU64(payload, ref offset);
                var seq = ReadU64(payload, ref offset);
                var node = (uint)ReadI32(payload, ref offset);
                var size = (long)ReadU64(payload, ref offset);
                if (size < 0) throw new ProtocolException($"a shared-memory value claims {size} bytes");
                return new WireValue(tag, default, new ObjectId(owner, seq), size, node);
            }
            case Null:
                return new WireValue(tag, default, default, -1);
            case Ref:
            {
                if (depth >= MaxRefDepth) throw new ProtocolException($"refs nested more than {MaxRefDepth} deep");
                var start = offset;
                RefWire.Skip(payload, ref offset, depth + 1);
                return new WireValue(tag, payload[start..offset], default, offset - start);
            }
            case Actor:
            {
                var start = offset;
                ActorWire.Skip(payload, ref offset);
                return new WireValue(tag, payload[start..offset], default, offset - start);
            }
            case WithRefs:
            {
                if (depth >= MaxRefDepth) throw new ProtocolException($"refs nested more than {MaxRefDepth} deep");
                var start = offset;
                IncomingRefs.Skip(payload, ref offset, depth + 1);
                return new WireValue(tag, payload[start..offset], default, offset - start);
            }
            default:
                throw new ProtocolException($"unknown value tag {tag}");
        }
    }

    internal static int ReadI32(ReadOnlySpan<byte> p, ref int offset)
    {
        if (p.Length - offset < 4) throw new ProtocolException("truncated message: needed 4 more bytes");
        var v = System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(p[offset..]);
        offset += 4;
        return v;
    }

    internal static ulong ReadU64(ReadOnlySpan<byte> p, ref int offset)
    {
        if (p.Length - offset < 8) throw new ProtocolException("truncated message: needed 8 more bytes");
        var v = System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(p[offset..]);
        offset += 8;
        return v;
    }

    internal static ushort ReadU16(ReadOnlySpan<byte> p, ref int offset)
    {
        if (p.Length - offset < 2) throw new ProtocolException("truncated message: needed 2 more bytes");
        var v = System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(p[offset..]);
        offset += 2;
        return v;
    }

    internal static byte ReadU8(ReadOnlySpan<byte> p, ref int offset)
    {
        if (p.Length - offset < 1) throw new ProtocolException("truncated message: needed 1 more byte");
        return p[offset++];
    }

    internal static string ReadUtf8(ReadOnlySpan<byte> p, ref int offset)
    {
        var n = ReadU16(p, ref offset);
        if (p.Length - offset < n) throw new ProtocolException($"truncated string: needed {n} bytes");
        var s = System.Text.Encoding.UTF8.GetString(p.Slice(offset, n));
        offset += n;
        return s;
    }

    /// <summary>Decodes a value of <typeparamref name="T"/> (a worker reading an argument, or the owner a result).</summary>
    internal static T Decode<T>(in WireValue v, MemoryStore store, Func<ObjectId, long, Plasma.Client.PlasmaBuffer>? openPlasma = null)
    {
        switch (v.Tag)
        {
            case Ref: return RefWire.Decode<T>(v.Bytes, store, openPlasma);
            case Actor: return ActorWire.Decode<T>(v.Bytes);
            case WithRefs:
            {
                var incoming = IncomingRefs.Read(v.Bytes, openPlasma, out var bytes);
                using var scope = SerializationContext.WithIncoming(incoming);
                return Codec<T>.IsDirect ? ReadDirect<T>(bytes) : Codec<T>.Deserialize(bytes, bytes.Length, store);
            }
            case Null: return default!;
            case Inline: return Codec<T>.IsDirect ? ReadDirect<T>(v.Bytes) : Codec<T>.Deserialize(v.Bytes, v.Bytes.Length, store);
            default:
                using (var view = (openPlasma ?? throw new ProtocolException("a shared-memory value arrived where none is expected"))(v.PlasmaId, v.Size))
                    return Codec<T>.IsDirect ? ReadDirect<T>(view.Span) : Codec<T>.Deserialize(view.Span, (int)Math.Min(int.MaxValue, v.Size), store);
        }
    }
}
