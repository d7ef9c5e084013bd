namespace Ray.Plasma.Store;

// Regions: a client's share of the arena that it sub-allocates from on its own, so a put needs
// no round trip. The store grants a region from free space, learns of an object in it only at
// its (one-way) seal, when it carves the object's block out of the region; from then on the
// object is an ordinary one (evicted, spilled, freed like any other). What the client has not
// sealed when it retires the region or disconnects (free space, objects it was writing) returns
// to the store's free space. A region object that its creator frees itself may come back to it
// as a recycled block (PlasmaStore.Recycle.cs).
public sealed partial class PlasmaStore
{
    /// <summary>The smallest region granted.</summary>
    public const long MinRegionBytes = 64 * 1024;

    /// <summary>Regions one client may hold at once.</summary>
    public const int MaxRegionsPerClient = 4;

    private readonly Dictionary<long, ClientSpace> _spaces = new(); // clients that were granted a region
    private long _regionBytes; // every client's regions and recycled blocks together

    /// <summary>The largest region granted: a quarter of the store, at most 1 GiB.</summary>
    public long MaxRegionBytes => Math.Min(_allocator.Capacity / 4 / ArenaAllocator.Alignment * ArenaAllocator.Alignment, 1L << 30);

    /// <summary>Bytes held by clients now: regions (granted, not yet carved into objects or returned) and recycled blocks.</summary>
    public long RegionBytes
    {
        get { lock (_lock) return _regionBytes; }
    }

    /// <summary>
    /// Grants <paramref name="client"/> a region of <paramref name="size"/> bytes (rounded up to
    /// the alignment) from free space only: nothing is evicted or spilled for it. Returns its offset.
    /// </summary>
    /// <exception cref="PlasmaException">InvalidRequest for a bad size or too many regions;
    /// StoreFull when no free block is large enough, or regions hold half the store already.</exception>
    public long GrantRegion(long client, long size)
    {
        if (size < MinRegionBytes || size > MaxRegionBytes)
            throw new PlasmaException(PlasmaStatus.InvalidRequest, $"a region of {size} bytes: regions are {MinRegionBytes} to {MaxRegionBytes} bytes in this store");
        size = ArenaAllocator.RoundUp(size);
        lock (_lock)
        {
            ThrowIfDisposed();
            _spaces.TryGetValue(client, out var space);
            if (space is { Regions.Count: >= MaxRegionsPerClient })
                throw new PlasmaException(PlasmaStatus.InvalidRequest, $"client {client} holds {space.Regions.Count} regions already, the limit; retire one first");
            // Regions are not reclaimable: they never take more than half the store together.
            if (_regionBytes + size > _allocator.Capacity / 2)
                throw new PlasmaException(PlasmaStatus.StoreFull, $"regions hold {_regionBytes} of the store's {_allocator.Capacity} bytes already; no region of {size} bytes (create objects one by one)");
            if (!_allocator.TryAllocate(size, out var offset))
                throw new PlasmaException(PlasmaStatus.StoreFull, $"no free block of {size} bytes for a region (largest {_allocator.LargestFree}); create objects one by one");
            if (space is null) _spaces[client] = space = new ClientSpace();
            space.Regions.Add(new ClientRegion(offset, size));
            space.LargestRegion = Math.Max(space.LargestRegion, size);
            _regionBytes += size;
            return offset;
        }
    }

    /// <summary>
    /// Seals an object that <paramref name="client"/> wrote inside one of its regions (with its
    /// sharing word, <see cref="BlockClaim"/>, set unshared when it reserved the block): its
    /// header and data (<paramref name="dataOffset"/> is the data's offset, 64 bytes after the
    /// block's start) leave the region and become a sealed object. With
    /// <paramref name="keepReference"/> the client holds a reference on it, as after a Get.
    /// </summary>
    /// <exception cref="PlasmaException">ObjectExists, or InvalidRequest when the block is not
    /// inside free space of one of the client's regions or a block recycled to it (outside them,
    /// or over an object sealed before).</exception>
    public void SealInRegion(PlasmaObjectId id, long dataOffset, long dataSize, uint typeTag, bool pinned, long client, bool keepReference)
    {
        if (dataSize < 0 || dataSize > int.MaxValue)
            throw new PlasmaException(PlasmaStatus.InvalidRequest, $"object {id}: size {dataSize} is out of range");
        var start = dataOffset - HeaderSize;
        var length = ArenaAllocator.RoundUp(HeaderSize + dataSize);
        if (start < 0 || start % ArenaAllocator.Alignment != 0)
            throw new PlasmaException(PlasmaStatus.InvalidRequest, $"object {id}: data offset {dataOffset} is not a block's data offset");
        HashSet<TaskCompletionSource>? waiters;
        lock (_lock)
        {
            ThrowIfDisposed();
            if (_objects.ContainsKey(id)) throw new PlasmaException(PlasmaStatus.ObjectExists, $"object {id} already exists");
            _spaces.TryGetValue(client, out var space);
            var region = space?.FindRegion(start, length);
            // A recycled block may lie inside a region still held (it was carved from it before).
            if (region?.Free.TryCarve(start, length) != true)
            {
                if (space is null || !space.Recycled.TryCarve(start, length))
                {
                    throw new PlasmaException(PlasmaStatus.InvalidRequest, region is null
                        ? $"object {id} ({length} bytes at {start}) is not inside a region of client {client} nor a block recycled to it"
                        : $"object {id} ({length} bytes at {start}) overlaps an object sealed before in its region");
                }
                space.RecycledBytes -= length;
            }
            _regionBytes -= length;
            var entry = new StoreEntry(id, ++_sequence)
            {
                State = EntryState.Sealed, Offset = start, DataSize = dataSize, TypeTag = typeTag, Pinned = pinned, Creator = client,
                InRegion = true,
            };
            WriteHeader(entry); // bytes 0 to 32: the sharing word after them is the client's (BlockClaim)
            _objects.Add(id, entry);
            if (keepReference) AddReader(entry, client);
            else Track(entry);
            _sealWaiters.Remove(id, out waiters);
        }
        if (waiters is not null) foreach (var w in waiters) w.TrySetResult();
    }

    /// <summary>
    /// The client is done with a region: what is left of it (free space, and blocks it reserved
    /// but never sealed) returns to the store. False when the client holds no region there.
    /// </summary>
    public bool RetireRegion(long client, long regionOffset)
    {
        lock (_lock)
        {
            if (_disposed || !_spaces.TryGetValue(client, out var space)) return false;
            var i = space.Regions.FindIndex(r => r.Offset == regionOffset);
            if (i < 0) return false;
            FreeRegionLocked(space.Regions[i]);
            space.Regions.RemoveAt(i);
            return true;
        }
    }

    /// <summary>Regions <paramref name="client"/> holds now.</summary>
    public int RegionCount(long client)
    {
        lock (_lock) return _spaces.TryGetValue(client, out var space) ? space.Regions.Count : 0;
    }

    // Under the lock: on disconnect, every region of the client and every block recycled to it go back.
    private void FreeRegionsLocked(long client)
    {
        if (!_spaces.Remove(client, out var space)) return;
        foreach (var r in space.Regions) FreeRegionLocked(r);
        FreeBlocksLocked(space.Recycled);
        space.RecycledBytes = 0;
        if (space.Mailbox >= 0) _allocator.Free(space.Mailbox, RecycleMailbox.Bytes);
        space.Mailbox = -1;
    }

    private void FreeRegionLocked(ClientRegion region) => FreeBlocksLocked(region.Free);

    private void FreeBlocksLocked(BlockSet blocks)
    {
        foreach (var (offset, length) in blocks.Parts)
        {
            _allocator.Free(offset, length);
            _regionBytes -= length;
        }
        blocks.Clear();
        Volatile.Write(ref _reclaimableVersion, _reclaimableVersion + 1); // a create waiting for room may fit now
    }

    // Under the lock: region space and recycled blocks are held, not reclaimable (LargestReclaimableRun).
    private void AddRegionBlocks(List<(long Offset, long Size, bool Reclaimable)> blocks)
    {
        foreach (var space in _spaces.Values)
        {
            foreach (var r in space.Regions)
                foreach (var (offset, length) in r.Free.Parts) blocks.Add((offset, length, false));
            foreach (var (offset, length) in space.Recycled.Parts) blocks.Add((offset, length, false));
        }
    }

    /// <summary>What the store holds for one client that was granted a region; guarded by the store's lock.</summary>
    private sealed class ClientSpace
    {
        internal List<ClientRegion> Regions { get; } = new(MaxRegionsPerClient);

        /// <summary>Blocks of objects it created in its regions and freed itself, given back to it.</summary>
        internal BlockSet Recycled { get; } = new();

        internal long RecycledBytes { get; set; }

        /// <summary>The largest region granted to it: the measure of how much it may hold recycled.</summary>
        internal long LargestRegion { get; set; }

        /// <summary>Its recycle mailbox's offset in the arena, -1 until the first block is recycled to it.</summary>
        internal long Mailbox { get; set; } = -1;

        /// <summary>Entries published in its mailbox (the store's own count; the arena's copy is only for the client).</summary>
        internal long Published { get; set; }

        /// <summary>Claimed blocks whose Free was applied (the store's own count; copied to the mailbox for the client).</summary>
        internal long ClaimsApplied { get; set; }

        internal ClientRegion? FindRegion(long start, long length)
        {
            foreach (var r in Regions)
                if (start >= r.Offset && start + length <= r.Offset + r.Size) return r;
            return null;
        }
    }

    /// <summary>One granted region: its extent and the parts not carved into objects yet.</summary>
    private sealed class ClientRegion
    {
        internal ClientRegion(long offset, long size)
        {
            Offset = offset;
            Size = size;
            Free.Add(offset, size);
        }

        internal long Offset { get; }
        internal long Size { get; }
        internal BlockSet Free { get; } = new();
    }
}
