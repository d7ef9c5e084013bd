using System.Collections.Concurrent;
using Ray.Objects;
using Ray.Plasma.Client;
using Ray.Protocol;
using Ray.Cluster.WorkerSide;

namespace Ray.Cluster.Wire;

/// <summary>
/// An <see cref="ObjectRef{T}"/> crossing into or out of a worker process (value tag 3): <c>u8
/// state</c> then for 0 (ready) the value in its usual encoding, for 1 (failed) <c>string
/// exception type | string message | string stack</c>, for 2 (borrowed: still pending when sent)
/// <c>u64 owner | u64 sequence</c>. For a ready or failed object the receiver makes a new object
/// of its own holding that value, so its ref works there without calls back to the owner. A
/// borrowed one becomes an object under the owner's id whose value the receiver asks the owner
/// for through the raylet (<see cref="BorrowedObjects"/>), as Ray's borrowers do. A worker's
/// reply carries ready refs only (it waits for a ref it returns).
/// </summary>
internal static class RefWire
{
    private const byte Ready = 0, Failed = 1, Borrowed = 2;

    // Set while a worker writes a reply: the refs it returns carry their bytes inline. A
    // worker's objects in the node's store may be deleted once its ref goes; a driver's (the
    // arguments it sends, also a nested driver's in a worker) stay while the task that got them
    // runs, so those go as store ids.
    [ThreadStatic] private static bool t_inlineOnly;

    /// <summary>Makes the refs written on this thread carry their bytes inline until the scope ends (a worker's reply).</summary>
    internal static InlineOnlyScope InlineScope()
    {
        var previous = t_inlineOnly;
        t_inlineOnly = true;
        return new InlineOnlyScope(previous);
    }

    internal readonly struct InlineOnlyScope(bool previous) : IDisposable
    {
        public void Dispose() => t_inlineOnly = previous;
    }

    internal static void Write(PayloadWriter w, ObjectEntry entry)
    {
        w.U8(ValueWire.Ref);
        WriteBody(w, entry);
    }

    [ThreadStatic] private static int t_depth;

    /// <summary>A ref's body (after its tag): its state and value.</summary>
    /// <exception cref="NotSupportedException">Refs nested deeper than <see cref="ValueWire.MaxRefDepth"/>.</exception>
    internal static void WriteBody(PayloadWriter w, ObjectEntry entry)
    {
        if (t_depth >= ValueWire.MaxRefDepth)
            throw new NotSupportedException($"refs nested more than {ValueWire.MaxRefDepth} deep (a ref whose value holds refs, ...) cannot go to another process");
        t_depth++;
        try { WriteBodyAt(w, entry); }
        finally { t_depth--; }
    }

    private static void WriteBodyAt(PayloadWriter w, ObjectEntry entry)
    {
        if (!entry.IsCompleted)
        {
            if (t_inlineOnly)
                throw new InvalidOperationException($"object {entry.Id} is not ready: a worker's reply carries refs once their values are there");
            entry.Store.Export(entry); // the owner finds it by id when the borrower asks
            w.U8(Borrowed);
            w.U64(entry.Id.Owner);
            w.U64(entry.Id.Sequence);
            return;
        }
        if (entry.IsFailed || entry.IsFreed)
        {
            // The state byte, then the error as a task reply carries it (status 1 = Failed).
            var error = entry.IsFailed ? entry.Error! : ExceptionFactory.ObjectFreed(entry.Id);
            if (error is RayTaskException t) TaskWire.WriteError(w, Failed, t.RemoteExceptionType, error.Message, t.RemoteStackTrace);
            else TaskWire.WriteError(w, Failed, error);
            return;
        }
        w.U8(Ready);
        EntryWire.Write(w, entry, t_inlineOnly);
    }

    /// <summary>Steps over a ref's body (after its tag) while reading a payload.</summary>
    internal static void Skip(ReadOnlySpan<byte> p, ref int offset, int depth = 0)
    {
        switch (ValueWire.ReadU8(p, ref offset))
        {
            case Ready:
                var inner = ValueWire.Read(p, ref offset, depth);
                if (inner.Tag == ValueWire.Ref) throw new ProtocolException("a ref's value is itself a ref");
                break;
            case Failed:
                TaskWire.ReadError(p, ref offset);
                break;
            case Borrowed:
                ValueWire.ReadU64(p, ref offset);
                ValueWire.ReadU64(p, ref offset);
                break;
            case var state:
                throw new ProtocolException($"unknown ref state {state}");
        }
    }

    private delegate ObjectRef Decoder(ReadOnlySpan<byte> body, MemoryStore store, Func<ObjectId, long, PlasmaBuffer>? openPlasma);

    private static readonly ConcurrentDictionary<Type, Decoder> s_decoders = new();

    /// <summary>A new object in <paramref name="store"/> holding the ref's value (or its failure), as a <typeparamref name="T"/> (an ObjectRef type).</summary>
    internal static T Decode<T>(ReadOnlySpan<byte> body, MemoryStore store, Func<ObjectId, long, PlasmaBuffer>? openPlasma)
    {
        var t = typeof(T);
        if (!t.IsGenericType || t.GetGenericTypeDefinition() != typeof(ObjectRef<>))
            throw new NotSupportedException($"an ObjectRef arrived where a {t.Name} is expected: declare the parameter as ObjectRef<T>");
        if (!System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeSupported)
            throw new NotSupportedException($"an {t.Name} from another process needs a runtime that can compile code (not NativeAOT)");
        if (!s_decoders.TryGetValue(t, out var decoder))
        {
            decoder = CreateDecoder(t);
            s_decoders[t] = decoder;
        }
        return (T)(object)decoder(body, store, openPlasma);
    }

    [System.Diagnostics.CodeAnalysis.RequiresDynamicCode("Instantiates DecodeBody over the ref's value type at run time.")]
    private static Decoder CreateDecoder(Type refType) =>
        typeof(RefWire).GetMethod(nameof(DecodeBody), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!
            .MakeGenericMethod(refType.GetGenericArguments()[0]).CreateDelegate<Decoder>(); // ObjectRef<T> returned as ObjectRef

    /// <summary>A new object in <paramref name="store"/> holding a ref body's value (or its failure).</summary>
    internal static ObjectRef<TValue> DecodeBody<TValue>(ReadOnlySpan<byte> body, MemoryStore store, Func<ObjectId, long, PlasmaBuffer>? openPlasma)
    {
        var off = 0;
        var state = ValueWire.ReadU8(body, ref off);
        if (state == Borrowed)
        {
            var id = new ObjectId(ValueWire.ReadU64(body, ref off), ValueWire.ReadU64(body, ref off));
            return BorrowedObjects.Borrow<TValue>(id, store, openPlasma);
        }
        var entry = store.CreatePending<TValue>();
        try
        {
            CompleteFromBody(entry, state, body[off..], openPlasma);
        }
        catch
        {
            entry.Release();
            throw;
        }
        return new ObjectRef<TValue>(entry);
    }

    /// <summary>Completes <paramref name="entry"/> from a ready (0) or failed (1) body's rest (after the state byte).</summary>
    internal static void CompleteFromBody<TValue>(ObjectEntry<TValue> entry, byte state, ReadOnlySpan<byte> body, Func<ObjectId, long, PlasmaBuffer>? openPlasma)
    {
        var off = 0;
        if (state == Failed)
        {
            var (type, message, stack) = TaskWire.ReadError(body, ref off);
            entry.Fail(ExceptionFactory.RemoteObjectFailed(type, message, stack));
            return;
        }
        if (state != Ready) throw new ProtocolException($"unknown ref state {state}");
        var inner = ValueWire.Read(body, ref off);
        if (inner.Tag == ValueWire.InPlasma)
        {
            // The sender's object in the node's store: this process keeps a copy of its own.
            using var view = (openPlasma ?? throw new ProtocolException("a shared-memory value arrived where none is expected"))(inner.PlasmaId, inner.Size);
            var copy = view.Span.ToArray();
            EntryWire.Complete(entry, new ValueWire.WireValue(ValueWire.Inline, copy, default, copy.Length));
        }
        else EntryWire.Complete(entry, inner);
    }
}
