namespace Ray.Plasma.Store;

internal enum EntryState { Created, Sealed, Spilled }

/// <summary>One object in the store's table (guarded by the store's lock).</summary>
internal sealed class StoreEntry(PlasmaObjectId id, long sequence)
{
    internal PlasmaObjectId Id { get; } = id;
    /// <summary>Age for spilling (oldest first); renewed on restore so a restored object is not spilled straight back.</summary>
    internal long Sequence { get; set; } = sequence;
    internal EntryState State { get; set; }
    /// <summary>Start of the allocation (header), or -1 while spilled.</summary>
    internal long Offset { get; set; } = -1;
    internal long DataSize { get; set; }
    internal uint TypeTag { get; set; }
    internal bool Pinned { get; set; }
    internal long Creator { get; set; }
    /// <summary>Sealed in a region of its creator's and still in that block (not spilled since): recyclable to the creator.</summary>
    internal bool InRegion { get; set; }
    internal bool DeletePending { get; set; }
    internal string? SpillPath { get; set; }

    /// <summary>Open read views, per client (a client's crash releases its views).</summary>
    internal Dictionary<long, int> Readers { get; } = new();
    internal int RefCount { get; set; }

    internal LinkedListNode<StoreEntry>? LruNode { get; set; }
    internal LinkedListNode<StoreEntry>? PinnedNode { get; set; }

    internal long AllocationSize => PlasmaStore.HeaderSize + DataSize;
    internal long DataOffset => Offset + PlasmaStore.HeaderSize;
}
