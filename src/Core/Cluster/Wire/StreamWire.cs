using Ray.Objects;
using Ray.Protocol;

namespace Ray.Cluster.Wire;

/// <summary>
/// Streaming calls between a driver and a worker (docs/PROTOCOL.md, "Streaming returns"): the
/// call's trailing stream section <c>u8 1 | i32 back-pressure bound | i64 consumed so far</c>
/// after its arguments, the worker's StreamItem frames <c>u64 index | value</c>, and the driver's
/// StreamAck frames <c>i64 consumed</c> (-1: stop).
/// </summary>
internal static class StreamWire
{
    internal const byte StreamFlag = 1;
    internal const long Stop = -1;

    /// <summary>What a streaming call tells its worker: the bound, and how many items its consumer took before this attempt.</summary>
    internal readonly record struct Spec(int Bound, long Consumed);

    internal static void WriteSpec(PayloadWriter w, ItemStream stream)
    {
        w.U8(StreamFlag);
        w.I32(stream.Bound);
        w.I64(stream.Consumed);
    }

    /// <summary>Reads the optional stream section after a call's arguments (null when absent).</summary>
    internal static Spec? ReadSpec(ReadOnlySpan<byte> p, ref int off)
    {
        if (off == p.Length) return null;
        var flag = ValueWire.ReadU8(p, ref off);
        if (flag != StreamFlag) throw new ProtocolException($"unknown call section {flag} after the arguments");
        var bound = ValueWire.ReadI32(p, ref off);
        var consumed = (long)ValueWire.ReadU64(p, ref off);
        if (bound < 0 || consumed < 0) throw new ProtocolException($"stream section with bound {bound}, consumed {consumed}");
        if (off != p.Length) throw new ProtocolException("a call has trailing bytes after its stream section");
        return new Spec(bound, consumed);
    }

    /// <summary>
    /// An item that arrived for <paramref name="stream"/>: made an object of the owner and added in
    /// order; dropped (its copy in the node's store deleted) when it was seen before (a retried
    /// attempt) or the stream takes no more items.
    /// </summary>
    internal static void Accept(ItemStream stream, long index, in ValueWire.WireValue value)
    {
        var produced = stream.Produced;
        if (index < produced || stream.ShouldStop)
        {
            if (value.Tag == ValueWire.InPlasma) stream.Store.LargeObjects.Delete(value.PlasmaId);
            return;
        }
        if (index != produced) throw new ProtocolException($"stream item {index} arrived before item {produced}");
        var entry = stream.CreateItem(value.Tag == ValueWire.InPlasma ? value.PlasmaId : null);
        try { EntryWire.CompleteItem(entry, value); }
        catch (Exception e) // an item that cannot be read fails its own ref, not the stream
        {
            entry.Fail(e is RayException ? e : ExceptionFactory.CannotDeserialize(entry.ValueType, e));
        }
        if (!stream.TryAdd(index, entry)) entry.Release();
    }
}
