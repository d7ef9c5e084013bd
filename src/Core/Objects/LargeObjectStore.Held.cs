using Ray.Plasma;
using Ray.Plasma.Client;

namespace Ray.Objects;

// A connected driver's held views: one store reference per object it has read, kept so that
// the next view is a pointer, not a request over the store's socket (60-90 us here).
//
// 1. A put that sealed in a region kept the creator's reference: that is the held view. Else the
//    first read of an object opens one (a Get over the socket: restores it if it was spilled)
//    and caches it.
// 2. Each view handed out, and each use of its stable address (the C ABI), takes a use on the
//    held view and gives it back when disposed; a view in use is never released.
// 3. When the node store runs out of space it asks this client to reclaim: every held view with
//    no use is released, so the store may spill or evict its object; the next read opens anew.
// 4. When the object is freed its held view is released at once, or by its last user.
internal sealed partial class LargeObjectStore
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<ObjectId, HeldView> _held = new();

    private unsafe PlasmaBuffer NodeView(PlasmaClient node, ObjectId id)
    {
        var held = AcquireHeld(node, id);
        return new PlasmaBuffer(held, held.Buffer.Info, (byte*)held.Pointer);
    }

    /// <summary>
    /// Where the object's bytes stay mapped for a connected driver, under a use of its held view
    /// that the caller gives back with <see cref="ReleaseHeld"/>. 0 in an embedded store, where
    /// only an open view keeps the bytes from being spilled or evicted (nothing to give back).
    /// The caller must hold a reference to the object meanwhile (so it is not freed).
    /// </summary>
    internal nint AcquireHeldAddress(ObjectId id, out long length)
    {
        length = 0;
        if (_node is not { } node) return 0;
        var held = AcquireHeld(node, id);
        length = held.Buffer.Length;
        return held.Pointer;
    }

    /// <summary>Gives back a use taken by <see cref="AcquireHeldAddress"/> (a no-op in an embedded store).</summary>
    internal void ReleaseHeld(ObjectId id)
    {
        // In use, it cannot have been retired or replaced, and the object cannot have been freed
        // (the caller's reference): the cached one is the one acquired.
        if (_held.TryGetValue(id, out var held)) held.ReleaseUse();
    }

    private HeldView AcquireHeld(PlasmaClient node, ObjectId id)
    {
        while (true)
        {
            if (!_held.TryGetValue(id, out var held))
            {
                // Published with the opener's use already taken, so a Reclaim cannot retire it
                // before the opener uses it (which would make the opener restore it again).
                var opened = new HeldView(OpenNodeView(node, id));
                held = _held.GetOrAdd(id, opened);
                if (ReferenceEquals(held, opened)) return opened;
                opened.ReleaseUse(); // another reader opened it first: this duplicate goes
                opened.Doom();
            }
            if (held.TryAcquire()) return held;
            _held.TryRemove(KeyValuePair.Create(id, held)); // reclaimed meanwhile: open anew
        }
    }

    /// <summary>
    /// Caches the view a put kept (the creator's reference, taken with its seal) as the object's
    /// held view, unused: reclaimable at once, and the first read is a pointer.
    /// </summary>
    private void KeepCreated(ObjectId id, PlasmaBuffer view)
    {
        var held = new HeldView(view, uses: 0);
        if (!_held.TryAdd(id, held)) held.Doom(); // a read opened one meanwhile (it cannot, before the put returns; to be safe)
    }

    private static PlasmaBuffer OpenNodeView(PlasmaClient node, ObjectId id)
    {
        try { return node.Get(ToPlasma(id), TimeSpan.Zero); }
        catch (PlasmaException e) { throw ExceptionFactory.NodeStoreFailed(id, e); }
    }

    /// <summary>The store needs space: releases every held view nobody is using (called on the store connection's receive thread).</summary>
    private long ReleaseIdleHeld()
    {
        long freed = 0;
        foreach (var (id, held) in _held)
        {
            if (!held.TryRetire()) continue;
            _held.TryRemove(KeyValuePair.Create(id, held));
            freed += held.Buffer.Length;
            held.Buffer.Dispose();
        }
        return freed;
    }

    /// <summary>
    /// One store reference and its users: a count of uses, -1 once retired (released, or about to
    /// be), so a use is taken only while the reference stands and it is released only unused.
    /// It starts with one use taken, its opener's (none for the view a put kept).
    /// </summary>
    private sealed unsafe class HeldView(PlasmaBuffer buffer, int uses = 1) : IPlasmaReleaser
    {
        private int _uses = uses;
        private volatile bool _doomed;

        internal PlasmaBuffer Buffer { get; } = buffer;

        internal nint Pointer { get; } = buffer.Pointer;

        internal bool TryAcquire()
        {
            while (true)
            {
                var uses = Volatile.Read(ref _uses);
                if (uses < 0) return false;
                if (Interlocked.CompareExchange(ref _uses, uses + 1, uses) == uses) return true;
            }
        }

        internal bool TryRetire() => Interlocked.CompareExchange(ref _uses, -1, 0) == 0;

        internal void ReleaseUse()
        {
            // Interlocked and the volatile flag order this against Doom: one of the two sees the other.
            if (Interlocked.Decrement(ref _uses) == 0 && _doomed && TryRetire()) Buffer.Dispose();
        }

        /// <summary>No longer cached (the object was freed, or a duplicate): released now, or by its last user.</summary>
        internal void Doom()
        {
            _doomed = true;
            if (TryRetire()) Buffer.Dispose();
        }

        // A view handed out over this one was disposed.
        void IPlasmaReleaser.Release(PlasmaBuffer view) => ReleaseUse();
    }
}
