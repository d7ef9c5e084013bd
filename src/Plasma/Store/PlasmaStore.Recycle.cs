namespace Ray.Plasma.Store;

// Recycling: a client that puts and frees in a loop reuses the same (cache-warm) blocks, and
// needs a new region rarely. When a client's own Free batch removes an object it sealed in one
// of its regions (its release or delete was the last reference: no other client, and no view of
// its own, holds it), the object's block is not freed into the store's free space: it is held
// for that client as a recycled block, and published in the client's recycle mailbox (a ring
// in the arena, RecycleMailbox) that the client looks at on each create: no message, no
// wake-up. The client reserves new objects in such a block as in a region; a seal carves them
// out. Removals by anything else (another client's last release, an eviction, a delete of the
// owner's objects) free the block as before, and a spilled object's block is the store's
// already. What a client holds recycled is bounded (four times its largest region, every client's
// regions and recycled blocks together at most half the store, and the mailbox's room: a block
// that does not fit is freed as before); it returns blocks it will not use (ReturnBlocks), all
// of them on a Reclaim, and loses them all (and its mailbox) when it disconnects.
public sealed partial class PlasmaStore
{
    /// <summary>
    /// A client holds at most this many times its largest region in recycled blocks: room for the
    /// blocks of the puts the store has not caught up with yet (its frees in flight), which on a
    /// loaded machine were 30 to 60 puts behind at times.
    /// </summary>
    public const int RecycledRegions = 4;

    /// <summary>Free-batch op: give back one reference of the client's.</summary>
    internal const byte FreeRelease = 1;

    /// <summary>Free-batch op: delete the object (at once, or at its last release).</summary>
    internal const byte FreeDelete = 2;

    /// <summary>
    /// Free-batch op, with both others: the client claimed the block back (BlockClaim) and is
    /// writing its next object there; the entry must remove the object, and the block becomes
    /// the client's recycled space (not published: the client has it).
    /// </summary>
    internal const byte FreeClaimed = 4;

    /// <summary>How a removal treats a region object's block.</summary>
    private enum Recycle { None, Publish, Claimed }

    /// <summary>
    /// Applies a client's batch of frees in order under one lock: per entry, bit 0 releases one
    /// reference of the client's, bit 1 deletes (release first). An entry that fails (no
    /// reference to release, an unknown or unsealed object) is skipped. Returns the offset of the
    /// client's recycle mailbox when this batch opened it (the client must be told), else -1.
    /// </summary>
    /// <exception cref="PlasmaException">InvalidRequest: a claimed entry (bit 2, with both
    /// others) that did not remove an object this client sealed in a region (the batch is
    /// applied up to it; the client must be disconnected, it writes where it should not).</exception>
    internal long FreeBatch(long client, ReadOnlySpan<(PlasmaObjectId Id, byte Ops)> entries)
    {
        lock (_lock)
        {
            if (_disposed) return -1;
            _spaces.TryGetValue(client, out var space);
            var hadMailbox = space is null || space.Mailbox >= 0;
            foreach (var (id, ops) in entries)
            {
                var claimed = (ops & FreeClaimed) != 0;
                if (!_objects.TryGetValue(id, out var e))
                {
                    if (claimed) throw BadClaim(id, client, "is not in the store");
                    continue;
                }
                if (claimed && (ops != (FreeRelease | FreeDelete | FreeClaimed) || !e.InRegion || e.Creator != client || e.State != EntryState.Sealed))
                    throw BadClaim(id, client, "is not a sealed object of this client's in its region");
                var recycle = claimed ? Recycle.Claimed : Recycle.Publish;
                if ((ops & FreeRelease) != 0) ReleaseLocked(e, client, recycle);
                // Removed by its release: a delete of the id finds nothing, as a Delete would.
                if ((ops & FreeDelete) != 0 && _objects.ContainsKey(id) && e.State != EntryState.Created && !e.DeletePending)
                    DeleteLocked(e, client, recycle);
                if (claimed && _objects.ContainsKey(id)) throw BadClaim(id, client, "is still referenced");
            }
            return !hadMailbox && space!.Mailbox >= 0 ? space.Mailbox : -1;
        }
    }

    private static PlasmaException BadClaim(PlasmaObjectId id, long client, string why) =>
        new(PlasmaStatus.InvalidRequest, $"client {client} claimed the block of object {id}, which {why}");

    /// <summary>The offset of the client's recycle mailbox in the arena; -1 while it has none.</summary>
    internal long MailboxOf(long client)
    {
        lock (_lock) return _spaces.TryGetValue(client, out var space) ? space.Mailbox : -1;
    }

    // Under the lock, before a reference is given: false for a region object whose block its
    // creator claimed back (the word is swapped to Shared otherwise, so it can no longer be claimed).
    private unsafe bool TryShareLocked(StoreEntry e) => !e.InRegion || BlockClaim.TryShare(Arena.Base + e.Offset, e.Id);

    // Under the lock: a region object whose block its creator claimed back (its Free not applied yet).
    private unsafe bool ClaimedLocked(StoreEntry e) =>
        e.InRegion && e.State == EntryState.Sealed && e.Offset >= 0 && !BlockClaim.IsOwn(Arena.Base + e.Offset, e.Id);

    /// <summary>
    /// A client gives back a block recycled to it (all of it, or a part it was recycled in):
    /// it returns to the store's free space. False when the client holds no such recycled block.
    /// </summary>
    public bool ReturnRecycled(long client, long offset, long length)
    {
        if (offset < 0 || length <= 0 || offset % ArenaAllocator.Alignment != 0 || length % ArenaAllocator.Alignment != 0) return false;
        lock (_lock)
        {
            if (_disposed || !_spaces.TryGetValue(client, out var space) || !space.Recycled.TryCarve(offset, length)) return false;
            space.RecycledBytes -= length;
            _regionBytes -= length;
            _allocator.Free(offset, length);
            Volatile.Write(ref _reclaimableVersion, _reclaimableVersion + 1); // a create waiting for room may fit now
            return true;
        }
    }

    /// <summary>Bytes recycled to clients (all of them) and not yet used or returned; counted in <see cref="RegionBytes"/> too.</summary>
    public long RecycledBytes
    {
        get
        {
            lock (_lock)
            {
                long total = 0;
                foreach (var space in _spaces.Values) total += space.RecycledBytes;
                return total;
            }
        }
    }

    /// <summary>Bytes recycled to <paramref name="client"/> and not yet used or returned.</summary>
    public long RecycledBytesOf(long client)
    {
        lock (_lock) return _spaces.TryGetValue(client, out var space) ? space.RecycledBytes : 0;
    }

    // Under the lock, as the entry leaves the table: keeps its block for the client when the
    // client sealed it in a region and it is still there. A claimed block is the client's
    // already (it is writing there): always kept, counted in the mailbox for the client's
    // pacing. Otherwise only when the client may hold that much more and its mailbox has room
    // to say so.
    private unsafe bool TryRecycleLocked(StoreEntry e, long client, Recycle recycle)
    {
        if (!e.InRegion || e.Creator != client || e.Offset < 0 || !_spaces.TryGetValue(client, out var space)) return false;
        var length = ArenaAllocator.RoundUp(e.AllocationSize);
        if (recycle == Recycle.Claimed)
        {
            KeepRecycledLocked(space, e.Offset, length);
            space.ClaimsApplied++;
            if (OpenMailboxLocked(space)) RecycleMailbox.SetClaimsApplied(Arena.Base + space.Mailbox, space.ClaimsApplied);
            return true;
        }
        if (space.RecycledBytes + length > RecycledRegions * space.LargestRegion || _regionBytes + length > _allocator.Capacity / 2) return false;
        if (!OpenMailboxLocked(space) || !RecycleMailbox.TryPublish(Arena.Base + space.Mailbox, space.Published, e.Offset, length)) return false;
        space.Published++;
        KeepRecycledLocked(space, e.Offset, length);
        return true;
    }

    private void KeepRecycledLocked(ClientSpace space, long offset, long length)
    {
        space.Recycled.Add(offset, length);
        space.RecycledBytes += length;
        _regionBytes += length;
    }

    // Opened at the first block recycled, from free space only (none: false), at the arena's
    // end: it stays as long as the client, and must not split the space large objects need.
    private unsafe bool OpenMailboxLocked(ClientSpace space)
    {
        if (space.Mailbox >= 0) return true;
        if (!_allocator.TryAllocateAtEnd(RecycleMailbox.Bytes, out var box)) return false;
        RecycleMailbox.Reset(Arena.Base + box);
        space.Mailbox = box;
        return true;
    }
}
