using Ray.Objects;
using Ray.Plasma.Client;
using Ray.Protocol;

namespace Ray.Cluster.Wire;

/// <summary>
/// The refs a value from another process carries inside it (value tag 4: <c>u16 count |
/// (u64 owner | u64 sequence | ref body)* | i32 length | bytes</c>, a ref body as in
/// <see cref="RefWire"/>). While the value is deserialized, each id found in its bytes becomes
/// an object of this process holding the value that came with it; an id met twice is one
/// object.
/// </summary>
internal sealed class IncomingRefs
{
    private readonly Dictionary<ObjectId, byte[]> _bodies;
    private readonly Dictionary<ObjectId, ObjectEntry> _made = new();
    private readonly Func<ObjectId, long, PlasmaBuffer>? _openPlasma;

    private IncomingRefs(Dictionary<ObjectId, byte[]> bodies, Func<ObjectId, long, PlasmaBuffer>? openPlasma)
    {
        _bodies = bodies;
        _openPlasma = openPlasma;
    }

    /// <summary>Reads the table at the start of a tag-4 body; <paramref name="bytes"/> is the value's serialized bytes after it.</summary>
    internal static IncomingRefs Read(ReadOnlySpan<byte> body, Func<ObjectId, long, PlasmaBuffer>? openPlasma, out ReadOnlySpan<byte> bytes)
    {
        var off = 0;
        int count = ValueWire.ReadU16(body, ref off);
        var bodies = new Dictionary<ObjectId, byte[]>(count);
        for (var i = 0; i < count; i++)
        {
            var id = new ObjectId(ValueWire.ReadU64(body, ref off), ValueWire.ReadU64(body, ref off));
            var start = off;
            RefWire.Skip(body, ref off);
            bodies[id] = body[start..off].ToArray();
        }
        var length = ValueWire.ReadI32(body, ref off);
        if (length < 0 || length != body.Length - off) throw new ProtocolException($"a value with refs claims {length} bytes; {body.Length - off} are left");
        bytes = body[off..];
        return new IncomingRefs(bodies, openPlasma);
    }

    /// <summary>Steps over a tag-4 body while reading a payload.</summary>
    internal static void Skip(ReadOnlySpan<byte> p, ref int offset, int depth)
    {
        int count = ValueWire.ReadU16(p, ref offset);
        for (var i = 0; i < count; i++)
        {
            ValueWire.ReadU64(p, ref offset);
            ValueWire.ReadU64(p, ref offset);
            RefWire.Skip(p, ref offset, depth);
        }
        var length = ValueWire.ReadI32(p, ref offset);
        if (length < 0 || length > p.Length - offset) throw new ProtocolException($"a value with refs claims {length} bytes; {p.Length - offset} are left");
        offset += length;
    }

    /// <summary>Writes a value's serialized bytes with the objects they refer to (which must be ready).</summary>
    internal static void Write(PayloadWriter w, ReadOnlySpan<ObjectEntry> contained, ReadOnlySpan<byte> bytes)
    {
        if (contained.Length > ushort.MaxValue)
            throw new NotSupportedException($"a value refers to {contained.Length} objects; at most {ushort.MaxValue} can go to another process with it");
        w.U8(ValueWire.WithRefs);
        w.U16((ushort)contained.Length);
        foreach (var e in contained)
        {
            w.U64(e.Id.Owner);
            w.U64(e.Id.Sequence);
            RefWire.WriteBody(w, e);
        }
        w.Bytes(bytes);
    }

    /// <summary>A handle of the object made for <paramref name="id"/>, if the value brought it.</summary>
    internal bool TryResolve<T>(ObjectId id, MemoryStore store, out ObjectRef<T>? value)
    {
        value = null;
        if (_made.TryGetValue(id, out var made))
        {
            if (made is not ObjectEntry<T> typed || !typed.TryAddRef()) return false;
            value = new ObjectRef<T>(typed);
            return true;
        }
        if (!_bodies.TryGetValue(id, out var body)) return false;
        value = RefWire.DecodeBody<T>(body, store, _openPlasma);
        _made[id] = value.Entry;
        return true;
    }
}
