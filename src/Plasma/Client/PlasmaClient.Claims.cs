using Ray.Plasma.Store;

namespace Ray.Plasma.Client;

// Claims: the block of an object this client sealed in a region, kept the creator's view of and
// then freed (that view released and the object deleted in one Free batch not sent yet) is taken
// back at once, without waiting for the store, when nobody else ever had a view of it: a
// compare-and-swap on the object's sharing word in the arena (BlockClaim) settles the race with a
// Get in the store. The block goes to the top of the recycled pool, so a put/free loop writes
// the same (cache-warm) block again and again; the Free entry carries the claimed bit, and the
// store, applying it, counts the block in this client's recycled space. Claims not yet applied
// are limited (MaxUnconfirmedClaims, by the count the store keeps in the mailbox): a client
// that puts and frees faster than the store applies its frames waits for it.
public sealed partial class PlasmaClient
{
    /// <summary>Claims sent that the store has not applied yet, at most; beyond, frees take the long way (the store's mailbox).</summary>
    private const int MaxUnconfirmedClaims = 256;

    /// <summary>Claims between two creates, at most (a client freeing many at once keeps only these).</summary>
    private const int MaxClaimsBetweenCreates = 16;

    private static readonly TimeSpan ClaimPaceWait = TimeSpan.FromMilliseconds(5);

    // Guarded by _sendLock (the lock of the Free batch).
    private readonly Dictionary<PlasmaObjectId, Claimable> _claimable = new();
    private long _freeBatches; // Free frames sent
    private long _claimsMade;
    private int _claimsSinceCreate;

    /// <summary>Claims made (for tests): blocks taken back without waiting for the store.</summary>
    internal long ClaimsMade
    {
        get { lock (_sendLock) return _claimsMade; }
    }

    // After a region seal that kept the creator's view.
    private void TrackClaimable(PlasmaObjectId id, RegionSlot slot, PlasmaBuffer view)
    {
        lock (_sendLock) _claimable[id] = new Claimable(slot.Start, slot.Length, view);
    }

    /// <summary>
    /// Under the send lock, as a free is queued: true when it completed a claim (the entry of the
    /// other half, in this batch, now carries all three ops and this one is not queued).
    /// </summary>
    private unsafe bool TryClaimLocked(PlasmaObjectId id, FreeOps ops, PlasmaBuffer? view)
    {
        if (!_claimable.TryGetValue(id, out var c)) return false;
        if (ops == FreeOps.Release)
        {
            if (!ReferenceEquals(view, c.View)) return false; // another view of ours: the object was shared
            c.ReleasedIn = _freeBatches;
        }
        else c.DeletedIn = _freeBatches;
        if (c.ReleasedIn < 0 || c.DeletedIn < 0) return false; // the other half later
        _claimable.Remove(id);
        // Both halves in this batch, which the store applies under one lock with the creator's
        // reference held until then: nothing can spill, evict or free it before.
        if (c.ReleasedIn != c.DeletedIn || !UnderClaimLimit() || !BlockClaim.TryClaim(Arena.Base + c.Start, id)) return false;
        for (var i = _frees.Count - 1; i >= 0; i--)
        {
            if (_frees[i].Id != id) continue;
            _frees[i] = (id, FreeOps.Release | FreeOps.Delete | FreeOps.Claimed);
            break;
        }
        Volatile.Write(ref _claimsMade, _claimsMade + 1);
        lock (_regionLock) _pool.Add((c.Start, c.Length)); // the top: the next create that fits takes it
        return true;
    }

    // Claims not yet applied by the store, and claims since the last create (a client that frees
    // many objects at once and creates none keeps only a few blocks: the others go the long way,
    // under the store's bound on what a client holds).
    private bool UnderClaimLimit()
    {
        if (Volatile.Read(ref _claimsSinceCreate) >= MaxClaimsBetweenCreates || _claimsMade - ClaimsApplied() >= MaxUnconfirmedClaims) return false;
        Interlocked.Increment(ref _claimsSinceCreate);
        return true;
    }

    private unsafe long ClaimsApplied()
    {
        var box = Volatile.Read(ref _mailbox);
        return box < 0 ? 0 : RecycleMailbox.ClaimsApplied(Arena.Base + box);
    }

    /// <summary>
    /// Before a create: when the store has not applied nearly as many claims as this client may
    /// have outstanding, waits a little (at most <see cref="ClaimPaceWait"/>) for it to catch up,
    /// so the free after this create can claim again. The creator runs no further ahead of the
    /// store than that; it does not wait for a store that does not answer.
    /// </summary>
    private void PaceClaims()
    {
        Volatile.Write(ref _claimsSinceCreate, 0);
        if (Volatile.Read(ref _mailbox) < 0 || Volatile.Read(ref _claimsMade) - ClaimsApplied() < MaxUnconfirmedClaims - 1) return;
        var start = Environment.TickCount64;
        var spin = new SpinWait();
        while (Volatile.Read(ref _claimsMade) - ClaimsApplied() >= MaxUnconfirmedClaims / 2)
        {
            if (Environment.TickCount64 - start > (long)ClaimPaceWait.TotalMilliseconds || _connection.CloseReason is not null) return;
            spin.SpinOnce(sleep1Threshold: 20); // yields the core: on a small machine the store needs it
        }
    }

    /// <summary>A region object of ours whose creator view is held; guarded by the send lock.</summary>
    private sealed class Claimable(long start, long length, PlasmaBuffer view)
    {
        internal long Start { get; } = start;
        internal long Length { get; } = length;
        internal PlasmaBuffer View { get; } = view;
        /// <summary>The Free batch its creator view's release / its delete was queued in; -1 before.</summary>
        internal long ReleasedIn { get; set; } = -1;
        internal long DeletedIn { get; set; } = -1;
    }
}
