namespace Ray.Plasma.Store;

// Regions: a client's share of the arena that it sub-allocates from on its own, so a put needs
// no round trip. The store grants a region from free space, learns of an object in it only at
// its (one-way) seal, when it carves the object's block out of the region; from then on the
// object is an ordinary one (evicted, spilled, freed into the store's free space like any
// other). What the client has not sealed when it retires the region or disconnects (free space,
// objects it was writing) returns to the store's free space.
public sealed partial class PlasmaStore
{
    /// <summary>The smallest region granted.</summary>
    public const long MinRegionBytes = 64 * 1024;

    /// <summary>Regions one client may hold at once.</summary>
    public const int MaxRegionsPerClient = 4;

    private readonly Dictionary<long, List<ClientRegion>> _regions = new();
    private long _regionBytes; // every client's regions together

    /// <summary>The largest region granted: a quarter of the store, at most 1 GiB.</summary>
    public long MaxRegionBytes => Math.Min(_allocator.Capacity / 4 / ArenaAllocator.Alignment * ArenaAllocator.Alignment, 1L << 30);

    /// <summary>Bytes held by regions now (granted, not yet carved into objects or returned).</summary>
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
            _regions.TryGetValue(client, out var list);
            if (list is { Count: >= MaxRegionsPerClient })
                throw new PlasmaException(PlasmaStatus.InvalidRequest, $"client {client} holds {list.Count} regions already, the limit; retire one first");
            // Regions are not reclaimable: they never take more than half the store together.
            if (_regionBytes + size > _allocator.Capacity / 2)
                throw new PlasmaException(PlasmaStatus.StoreFull, $"regions hold {_regionBytes} of the store's {_allocator.Capacity} bytes already; no region of {size} bytes (create objects one by one)");
            if (!_allocator.TryAllocate(size, out var offset))
                throw new PlasmaException(PlasmaStatus.StoreFull, $"no free block of {size} bytes for a region (largest {_allocator.LargestFree}); create objects one by one");
            if (list is null) _regions[client] = list = new List<ClientRegion>(MaxRegionsPerClient);
            list.Add(new ClientRegion(offset, size));
            _regionBytes += size;
            return offset;
        }
    }

    /// <summary>
    /// Seals an object that <paramref name="client"/> wrote inside one of its regions: its
    /// header and data (<paramref name="dataOffset"/> is the data's offset, 64 bytes after the
    /// block's start) leave the region and become a sealed object. With
    /// <paramref name="keepReference"/> the client holds a reference on it, as after a Get.
    /// </summary>
    /// <exception cref="PlasmaException">ObjectExists, or InvalidRequest when the block is not
    /// inside free space of one of the client's regions (outside them, or over an object sealed before).</exception>
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
            var region = FindRegion(client, start, length)
                ?? throw new PlasmaException(PlasmaStatus.InvalidRequest, $"object {id} ({length} bytes at {start}) is not inside a region of client {client}");
            if (!region.TryCarve(start, length))
                throw new PlasmaException(PlasmaStatus.InvalidRequest, $"object {id} ({length} bytes at {start}) overlaps an object sealed before in its region");
            _regionBytes -= length;
            var entry = new StoreEntry(id, ++_sequence)
            {
                State = EntryState.Sealed, Offset = start, DataSize = dataSize, TypeTag = typeTag, Pinned = pinned, Creator = client,
            };
            WriteHeader(entry);
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
            if (_disposed || !_regions.TryGetValue(client, out var list)) return false;
            var i = list.FindIndex(r => r.Offset == regionOffset);
            if (i < 0) return false;
            FreeRegionLocked(list[i]);
            list.RemoveAt(i);
            if (list.Count == 0) _regions.Remove(client);
            return true;
        }
    }

    /// <summary>Regions <paramref name="client"/> holds now.</summary>
    public int RegionCount(long client)
    {
        lock (_lock) return _regions.TryGetValue(client, out var list) ? list.Count : 0;
    }

    // Under the lock: on disconnect, every region of the client goes back.
    private void FreeRegionsLocked(long client)
    {
        if (!_regions.Remove(client, out var list)) return;
        foreach (var r in list) FreeRegionLocked(r);
    }

    private void FreeRegionLocked(ClientRegion region)
    {
        foreach (var (offset, length) in region.Free)
        {
            _allocator.Free(offset, length);
            _regionBytes -= length;
        }
        region.Free.Clear();
        Volatile.Write(ref _reclaimableVersion, _reclaimableVersion + 1); // a create waiting for room may fit now
    }

    private ClientRegion? FindRegion(long client, long start, long length)
    {
        if (!_regions.TryGetValue(client, out var list)) return null;
        foreach (var r in list)
            if (start >= r.Offset && start + length <= r.Offset + r.Size) return r;
        return null;
    }

    // Under the lock: region space is held, not reclaimable (LargestReclaimableRun).
    private void AddRegionBlocks(List<(long Offset, long Size, bool Reclaimable)> blocks)
    {
        foreach (var list in _regions.Values)
            foreach (var r in list)
                foreach (var (offset, length) in r.Free) blocks.Add((offset, length, false));
    }

    /// <summary>One granted region: its extent and the parts not carved into objects yet (offset -> length, ordered).</summary>
    private sealed class ClientRegion(long offset, long size)
    {
        internal long Offset { get; } = offset;
        internal long Size { get; } = size;
        internal SortedList<long, long> Free { get; } = new() { { offset, size } };

        /// <summary>Removes [start, start + length) from the free parts; false unless it lies inside one.</summary>
        internal bool TryCarve(long start, long length)
        {
            // The free part that begins at or before start: the last key <= start.
            var keys = Free.Keys;
            int lo = 0, hi = keys.Count - 1, found = -1;
            while (lo <= hi)
            {
                var mid = (lo + hi) >>> 1;
                if (keys[mid] <= start) { found = mid; lo = mid + 1; }
                else hi = mid - 1;
            }
            if (found < 0) return false;
            var partStart = keys[found];
            var partEnd = partStart + Free.Values[found];
            if (start + length > partEnd) return false;
            Free.RemoveAt(found);
            if (start > partStart) Free.Add(partStart, start - partStart);
            if (start + length < partEnd) Free.Add(start + length, partEnd - start - length);
            return true;
        }
    }
}
