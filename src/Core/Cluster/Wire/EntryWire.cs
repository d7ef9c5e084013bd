using Ray.Objects;
using Ray.Protocol;
using Ray.Serialization;

namespace Ray.Cluster.Wire;

/// <summary>
/// Moves an object's value between this process and another in the value encoding of
/// <see cref="ValueWire"/>: writes a ready entry (inline bytes, or its id in the node's store)
/// and completes a pending one with a value that arrived. The entry only keeps its state; this
/// is the process-mode object provider's side of it (<see cref="IEntryVisitor"/>).
/// </summary>
internal static class EntryWire
{
    [ThreadStatic] private static Writer? t_writer;

    /// <summary>
    /// Writes the ready value for a worker process: inline bytes, or (unless
    /// <paramref name="inlineOnly"/>) its id in the node's shared-memory store; a value holding
    /// refs goes inline with them (their objects must be ready).
    /// </summary>
    internal static void Write(PayloadWriter w, ObjectEntry entry, bool inlineOnly = false)
    {
        // One visitor per thread: writes nest (a ref's value holding refs), so a busy one is not reused.
        var writer = t_writer is { Busy: false } idle ? idle : new Writer();
        t_writer ??= writer;
        writer.Busy = true;
        writer.Output = w;
        writer.InlineOnly = inlineOnly;
        try { entry.Accept(writer); }
        finally
        {
            writer.Busy = false;
            writer.Output = default;
        }
    }

    /// <summary>Completes <paramref name="entry"/> with <paramref name="value"/> (inline bytes are copied; a node-store value is referenced).</summary>
    internal static void Complete<T>(ObjectEntry<T> entry, in ValueWire.WireValue value)
    {
        switch (value.Tag)
        {
            case ValueWire.InPlasma:
                entry.CompleteInNodeStore(value.Size);
                return;
            case ValueWire.Ref:
                entry.CompleteDirect(ValueWire.Decode<T>(value, entry.Store)); // an ObjectRef result: a new object here holding its value
                return;
            case ValueWire.WithRefs:
                // A value holding refs: read it once (each ref becomes an object here), then keep
                // it in this store's form, whose ids are those objects'.
                var decoded = ValueWire.Decode<T>(value, entry.Store);
                if (Codec<T>.IsDirect) entry.CompleteDirect(decoded);
                else entry.CompleteWithSerialized(Codec<T>.Serialize(decoded, entry.Store, "a result holding refs"));
                return;
            case ValueWire.Null:
                if (Codec<T>.IsDirect) entry.CompleteDirect(default!);
                else entry.CompleteWithSerialized(new SerializedValue([], -1, false, null));
                return;
            default:
                if (Codec<T>.IsDirect) entry.CompleteDirect(ValueWire.ReadDirect<T>(value.Bytes));
                else
                {
                    var copy = GC.AllocateUninitializedArray<byte>(value.Bytes.Length);
                    value.Bytes.CopyTo(copy);
                    entry.CompleteWithSerialized(new SerializedValue(copy, copy.Length, false, null));
                }
                return;
        }
    }

    /// <summary>
    /// A task's result as it arrived in a reply, completing the (untyped) result entry when the
    /// task visits it. The bytes are the reply's, pinned by the caller for the call's duration.
    /// </summary>
    internal static unsafe void CompleteResult(Tasks.SubmittedTask task, in ValueWire.WireValue value)
    {
        fixed (byte* bytes = value.Bytes)
        {
            var incoming = new Incoming(task.Core.Store, value.Tag, bytes, value.Bytes.Length, value.PlasmaId, value.Size, value.Location);
            task.CompleteRemote(incoming);
        }
    }

    /// <summary>Completes a stream's item entry with a value that arrived (the bytes are the frame's, pinned for the call).</summary>
    internal static unsafe void CompleteItem(ObjectEntry entry, in ValueWire.WireValue value)
    {
        fixed (byte* bytes = value.Bytes)
            entry.Accept(new Incoming(entry.Store, value.Tag, bytes, value.Bytes.Length, value.PlasmaId, value.Size, value.Location));
    }

    private sealed class Writer : IEntryVisitor
    {
        internal bool Busy;
        internal PayloadWriter Output;
        internal bool InlineOnly;

        public void Visit<T>(ObjectEntry<T> entry)
        {
            var w = Output;
            entry.ThrowIfNotReady();
            if (Codec<T>.IsDirect)
            {
                ValueWire.WriteDirect(w, entry.DirectValue);
                return;
            }
            var refs = entry.Contained;
            if (entry.InNodeStore)
            {
                if (!InlineOnly && refs is null)
                {
                    ValueWire.WritePlasma(w, entry.Id, entry.StoredLength, entry.Store.NodeTag);
                    return;
                }
                using var view = entry.Store.LargeObjects.View(entry.Id);
                if (refs is { Length: > 0 }) IncomingRefs.Write(w, refs, view.Span);
                else ValueWire.WriteInline(w, view.Span);
                return;
            }
            if (entry.TryReadNative(w, static (bytes, o) => ValueWire.WriteInline(o, bytes))) return;
            var buffer = entry.StoredBytes ?? throw ExceptionFactory.ObjectFreed(entry.Id);
            var length = entry.StoredLength;
            if (refs is { Length: > 0 } && length >= 0) IncomingRefs.Write(w, refs, new ReadOnlySpan<byte>(buffer, 0, length));
            else ValueWire.WriteSerialized(w, buffer, length);
        }
    }

    // Holds a pointer to the reply's bytes: valid only inside CompleteResult's fixed block,
    // which is where the task visits it (synchronously).
    private sealed unsafe class Incoming(MemoryStore store, byte tag, byte* bytes, int length, ObjectId plasmaId, long size, uint location) : IIncomingValue
    {
        public void Visit<T>(ObjectEntry<T> entry) =>
            Complete(entry, new ValueWire.WireValue(tag, new ReadOnlySpan<byte>(bytes, length), plasmaId, size, location));

        public void Discard()
        {
            if (tag == ValueWire.InPlasma) store.LargeObjects.Delete(plasmaId);
        }
    }
}

/// <summary>Writes a task's arguments for a worker process in the value encoding (their refs are ready: the task was queued).</summary>
internal sealed class ArgumentWriter : Tasks.IArgumentVisitor
{
    [ThreadStatic] private static ArgumentWriter? t_cached;

    private PayloadWriter _w;

    /// <summary>Writes every argument of <paramref name="task"/> to <paramref name="w"/>.</summary>
    internal static void Write(PayloadWriter w, Tasks.SubmittedTask task)
    {
        var writer = t_cached ?? new ArgumentWriter();
        t_cached = null; // not shared with a nested write (a ref's value) on this thread
        writer._w = w;
        try { task.VisitArguments(writer); }
        finally
        {
            writer._w = default;
            t_cached = writer;
        }
    }

    public void Argument<T>(in Tasks.ArgSlot<T> slot)
    {
        if (slot.Ref is { } r) EntryWire.Write(_w, r);
        else if (slot.Bytes is { } bytes)
        {
            if (slot.Contained is { Length: > 0 } refs) IncomingRefs.Write(_w, refs, new ReadOnlySpan<byte>(bytes, 0, Math.Max(0, slot.Length)));
            else ValueWire.WriteSerialized(_w, bytes, slot.Length);
        }
        else ValueWire.WriteDirect(_w, slot.Value);
    }
}
