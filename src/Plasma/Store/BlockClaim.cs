namespace Ray.Plasma.Store;

/// <summary>
/// The sharing word of an object sealed in a region: 8 bytes at <see cref="Offset"/> of its
/// 64-byte header, a tag of the object's id with a state in its two low bits. It settles, with
/// one compare-and-swap on each side, a race between the store handing the object to a reader
/// and its creator taking the block back:
/// 1. The creator writes <c>Unshared(id)</c> when it reserves the block. The store never writes
///    it: its seal may be applied after the creator claimed the block and wrote its next
///    object's word there. A client that does not write it makes objects nobody can get.
/// 2. The store, before it gives any client a reference (a Get), swaps <c>Unshared(id)</c> to
///    <c>Shared(id)</c>; a word that is neither (claimed, or the block already holds the
///    creator's next object) means the object is gone: the Get does not find it.
/// 3. The creator, when it has released its own reference and deleted the object in one Free
///    batch not sent yet, swaps <c>Unshared(id)</c> to <c>Claimed(id)</c>: on success nobody
///    else ever had a view of it and nobody can get one now, so it writes its next object there
///    at once; the Free says so (its claimed bit) and the store gives the block to the client's
///    recycled space when it applies it. A shared object is never claimed: it goes the long way
///    (the store's mailbox, once the last reader is done).
/// Until the store applies that Free, the store's table still holds the object (referenced by
/// the creator, so never spilled or evicted) while its bytes are being overwritten; only a Get
/// could look, and it finds the word changed.
/// </summary>
internal static unsafe class BlockClaim
{
    /// <summary>Where the word lies in the header (the store writes bytes 0 to 32 only).</summary>
    internal const int Offset = 32;

    private const long StateMask = 3;
    private const long Unshared = 1, Shared = 2, Claimed = 3;

    // A tag of the id in the high 62 bits (two ids in one block alike: about 2^-62).
    private static long Tag(PlasmaObjectId id)
    {
        var x = id.Owner * 0x9E3779B97F4A7C15UL ^ id.Sequence;
        x ^= x >> 31;
        x *= 0xBF58476D1CE4E5B9UL;
        x ^= x >> 29;
        return (long)(x & ~(ulong)StateMask);
    }

    /// <summary>The creator, reserving a block for <paramref name="id"/> (its header at <paramref name="header"/>).</summary>
    internal static void MarkUnshared(byte* header, PlasmaObjectId id) => Volatile.Write(ref Word(header), Tag(id) | Unshared);

    /// <summary>The store, before it gives a reference: false when the object's block is no longer its own.</summary>
    internal static bool TryShare(byte* header, PlasmaObjectId id)
    {
        var tag = Tag(id);
        var seen = Interlocked.CompareExchange(ref Word(header), tag | Shared, tag | Unshared);
        return seen == (tag | Unshared) || seen == (tag | Shared);
    }

    /// <summary>The creator, after its last reference and its delete: true when nobody else ever had a view.</summary>
    internal static bool TryClaim(byte* header, PlasmaObjectId id)
    {
        var tag = Tag(id);
        return Interlocked.CompareExchange(ref Word(header), tag | Claimed, tag | Unshared) == (tag | Unshared);
    }

    /// <summary>The store: true while the word is the object's own and not claimed (it may still be read, spilled).</summary>
    internal static bool IsOwn(byte* header, PlasmaObjectId id)
    {
        var word = Volatile.Read(ref Word(header));
        var tag = Tag(id);
        return word == (tag | Unshared) || word == (tag | Shared);
    }

    private static ref long Word(byte* header) => ref *(long*)(header + Offset);
}
