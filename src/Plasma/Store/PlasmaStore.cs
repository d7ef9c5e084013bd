using System.Buffers.Binary;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ray.Plasma.Store;

/// <summary>
/// The node's shared-memory object store: the arena, its allocator and the object table.
/// Thread-safe. Used in process by the embedded runtime and served to other processes by
/// <see cref="Server.PlasmaServer"/>.
///
/// Object lifecycle: create (reserve) -> write -> seal -> get -> release -> delete.
/// 1. Create reserves header + data; only the creator writes, then seals (or aborts).
/// 2. Sealed objects are immutable. Get of an unsealed or unknown id waits for the seal.
/// 3. Each get takes a reference (per client) that release gives back.
/// 4. Pinned (primary) objects are never evicted; unpinned, unreferenced ones are evicted
///    least recently used first when space is needed; if that is not enough, the oldest
///    unreferenced pinned objects are spilled to files and restored on their next get.
/// 5. Delete frees at once, or at the last release while readers remain.
/// A client that disconnects loses its unsealed objects and its references.
/// </summary>
public sealed partial class PlasmaStore : IDisposable
{
    /// <summary>Bytes in front of each object's data: magic, type tag, size, id (64 keeps data aligned).</summary>
    public const int HeaderSize = 64;
    private const uint HeaderMagic = 0x52504c41; // "RPLA"

    /// <summary>The client id of in-process callers.</summary>
    public const long LocalClient = 0;

    private readonly object _lock = new();
    private readonly Dictionary<PlasmaObjectId, StoreEntry> _objects = new();
    private readonly Dictionary<PlasmaObjectId, HashSet<TaskCompletionSource>> _sealWaiters = new(); // a set: a closing client cancels thousands of Gets in linear time
    private readonly LinkedList<StoreEntry> _lru = new();     // sealed, unpinned, unreferenced: evictable
    private readonly LinkedList<StoreEntry> _pinned = new();  // sealed, pinned, in memory: spillable, oldest first
    private readonly ArenaAllocator _allocator;
    private readonly ILogger _logger;
    private long _sequence;
    private bool _disposed;

    /// <summary>Creates the arena (pre-faulted) and an empty table.</summary>
    public PlasmaStore(PlasmaStoreOptions? options = null, ILogger? logger = null)
    {
        options ??= new PlasmaStoreOptions();
        _logger = logger ?? NullLogger.Instance;
        var name = options.Name ?? $"ray-plasma-{Environment.ProcessId}-{Guid.NewGuid():N}";
        var capacity = ArenaAllocator.RoundUp(options.ResolveCapacity());
        System.IO.Directory.CreateDirectory(options.Directory);
        Arena = PlasmaArena.Create(System.IO.Path.Combine(options.Directory, name), capacity, options.Prefault);
        _allocator = new ArenaAllocator(capacity);
        SpillDirectory = options.SpillDirectory ?? System.IO.Path.Combine(System.IO.Path.GetTempPath(), name + "-spill");
        try { _ownsSpillDirectory = PrivateDirectory.Ensure(SpillDirectory, "spill directory"); }
        catch
        {
            Arena.Dispose(retireInPlace: false);
            throw;
        }
    }

    /// <summary>The shared memory.</summary>
    public PlasmaArena Arena { get; }

    private int _activeUsers;

    /// <summary>
    /// Brackets in-process work that touches the arena outside the lock (a write between create
    /// and seal, a view being made): while any is active, disposal retires the mapping in place
    /// instead of unmapping it under the user's feet.
    /// </summary>
    internal void EnterUse() => Interlocked.Increment(ref _activeUsers);

    internal void ExitUse() => Interlocked.Decrement(ref _activeUsers);

    /// <summary>Views handed out in this process, invalidated before the arena is unmapped.</summary>
    internal Client.ViewRegistry LocalViews { get; } = new();

    /// <summary>Where spilled objects go.</summary>
    public string SpillDirectory { get; }

    // ---- create / seal / abort ----

    /// <summary>Reserves <paramref name="dataSize"/> bytes; returns the data's offset in the arena.</summary>
    public long Create(PlasmaObjectId id, long dataSize, uint typeTag = 0, bool pinned = true, long client = LocalClient)
    {
        if (dataSize < 0) throw new PlasmaException(PlasmaStatus.InvalidRequest, $"object {id}: size {dataSize} is negative");
        if (dataSize > int.MaxValue)
            throw new PlasmaException(PlasmaStatus.TooLarge, $"object {id}: {dataSize} bytes is over the 2 GiB limit of one object");
        if (HeaderSize + dataSize > _allocator.Capacity)
            throw new PlasmaException(PlasmaStatus.TooLarge, $"object {id}: {dataSize} bytes is larger than the whole store ({_allocator.Capacity} bytes)");
        lock (_lock)
        {
            ThrowIfDisposed();
            if (_objects.ContainsKey(id)) throw new PlasmaException(PlasmaStatus.ObjectExists, $"object {id} already exists");
            var offset = AllocateLocked(HeaderSize + dataSize);
            var entry = new StoreEntry(id, ++_sequence)
            {
                State = EntryState.Created, Offset = offset, DataSize = dataSize, TypeTag = typeTag, Pinned = pinned, Creator = client,
            };
            WriteHeader(entry);
            _objects.Add(id, entry);
            return entry.DataOffset;
        }
    }

    /// <summary>Makes the object immutable and visible to getters.</summary>
    public void Seal(PlasmaObjectId id, long client = LocalClient)
    {
        HashSet<TaskCompletionSource>? waiters;
        lock (_lock)
        {
            ThrowIfDisposed();
            var e = Find(id);
            if (e.State != EntryState.Created) throw new PlasmaException(PlasmaStatus.ObjectAlreadySealed, $"object {id} is already sealed");
            if (e.Creator != client) throw new PlasmaException(PlasmaStatus.InvalidRequest, $"object {id} was created by another client");
            e.State = EntryState.Sealed;
            Track(e);
            _sealWaiters.Remove(id, out waiters);
        }
        if (waiters is not null) foreach (var w in waiters) w.TrySetResult();
    }

    /// <summary>Frees an object that was created but not sealed.</summary>
    public void Abort(PlasmaObjectId id, long client = LocalClient)
    {
        lock (_lock)
        {
            ThrowIfDisposed();
            var e = Find(id);
            if (e.State != EntryState.Created) throw new PlasmaException(PlasmaStatus.ObjectAlreadySealed, $"object {id} is sealed; it cannot be aborted");
            if (e.Creator != client) throw new PlasmaException(PlasmaStatus.InvalidRequest, $"object {id} was created by another client");
            RemoveLocked(e);
        }
    }

    // ---- get / release ----

    /// <summary>Takes a reference on a sealed object (restoring it if spilled); false if not sealed or unknown.</summary>
    public bool TryGet(PlasmaObjectId id, out PlasmaObjectInfo info, long client = LocalClient)
    {
        lock (_lock)
        {
            ThrowIfDisposed();
            // A region object whose block its creator took back (BlockClaim) is gone, as if deleted.
            if (!_objects.TryGetValue(id, out var e) || e.State == EntryState.Created || e.DeletePending ||
                !TryShareLocked(e))
            {
                info = default;
                return false;
            }
            if (e.State == EntryState.Spilled) RestoreLocked(e);
            AddReader(e, client);
            info = new PlasmaObjectInfo(id, e.DataOffset, e.DataSize, e.TypeTag);
            return true;
        }
    }

    /// <summary>Gets a reference, waiting up to <paramref name="timeout"/> for the object to be created and sealed.</summary>
    public async Task<PlasmaObjectInfo> GetAsync(PlasmaObjectId id, TimeSpan timeout, long client = LocalClient, CancellationToken cancel = default)
    {
        var start = System.Diagnostics.Stopwatch.GetTimestamp();
        while (true)
        {
            TaskCompletionSource tcs;
            lock (_lock)
            {
                if (TryGet(id, out var info, client)) return info;
                if (!_sealWaiters.TryGetValue(id, out var list)) _sealWaiters[id] = list = new();
                tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                list.Add(tcs);
            }
            // Longer than a timer can wait (about 49 days) is forever.
            var infinite = timeout == Timeout.InfiniteTimeSpan || timeout.TotalMilliseconds >= int.MaxValue;
            var left = infinite ? Timeout.InfiniteTimeSpan : timeout - System.Diagnostics.Stopwatch.GetElapsedTime(start);
            try
            {
                if (!infinite && left <= TimeSpan.Zero) throw new TimeoutException();
                await tcs.Task.WaitAsync(left, cancel).ConfigureAwait(false);
            }
            catch (Exception e) when (e is TimeoutException or OperationCanceledException)
            {
                lock (_lock)
                {
                    if (_sealWaiters.TryGetValue(id, out var list) && list.Remove(tcs) && list.Count == 0) _sealWaiters.Remove(id);
                }
                if (e is OperationCanceledException) throw;
                if (TryGet(id, out var late, client)) return late;
                throw new PlasmaException(PlasmaStatus.Timeout, $"object {id} was not sealed within {timeout.TotalMilliseconds:0.###} ms");
            }
        }
    }

    /// <summary>Gets waiting for an object to be sealed now (every client together).</summary>
    internal int WaitingGets
    {
        get
        {
            lock (_lock)
            {
                var n = 0;
                foreach (var list in _sealWaiters.Values) n += list.Count;
                return n;
            }
        }
    }

    /// <summary>Blocking form of <see cref="GetAsync"/>.</summary>
    public PlasmaObjectInfo Get(PlasmaObjectId id, TimeSpan timeout, long client = LocalClient) =>
        // Blocks on a seal (justified): the thread that seals the object completes the wait; no
        // continuation of this caller has to run first.
        TryGet(id, out var info, client) ? info : GetAsync(id, timeout, client).GetAwaiter().GetResult();

    /// <summary>Gives back one reference taken by a get.</summary>
    public void Release(PlasmaObjectId id, long client = LocalClient)
    {
        lock (_lock)
        {
            if (_disposed) return;
            if (!ReleaseLocked(Find(id), client, Recycle.None))
                throw new PlasmaException(PlasmaStatus.InvalidRequest, $"object {id} has no reference of this client to release");
        }
    }

    // Under the lock: false when the client holds no reference. From the client's own Free batch,
    // a removal may recycle the block to the client (PlasmaStore.Recycle.cs).
    private bool ReleaseLocked(StoreEntry e, long client, Recycle recycle)
    {
        if (!e.Readers.TryGetValue(client, out var n) || n == 0) return false;
        if (n == 1) e.Readers.Remove(client); else e.Readers[client] = n - 1;
        e.RefCount--;
        if (e.RefCount == 0)
        {
            if (e.DeletePending) RemoveLocked(e, client, recycle);
            else Track(e);
        }
        return true;
    }

    // ---- helpers ----

    private void AddReader(StoreEntry e, long client)
    {
        if (e.RefCount == 0) Untrack(e);
        e.RefCount++;
        e.Readers[client] = e.Readers.TryGetValue(client, out var n) ? n + 1 : 1;
    }

    private StoreEntry Find(PlasmaObjectId id) =>
        _objects.TryGetValue(id, out var e) ? e : throw new PlasmaException(PlasmaStatus.ObjectNotFound, $"object {id} is not in the store");

    /// <summary>Puts an unreferenced sealed entry on the list it belongs to (evictable or spillable).</summary>
    private void Track(StoreEntry e)
    {
        if (e.RefCount != 0 || e.State != EntryState.Sealed || e.LruNode is not null || e.PinnedNode is not null) return;
        if (e.Pinned) e.PinnedNode = InsertBySequence(_pinned, e);
        else e.LruNode = _lru.AddLast(e);
        Volatile.Write(ref _reclaimableVersion, _reclaimableVersion + 1);
    }

    private static LinkedListNode<StoreEntry> InsertBySequence(LinkedList<StoreEntry> list, StoreEntry e)
    {
        // Spill oldest first: keep creation order (new objects usually go at the end).
        var node = list.Last;
        while (node is not null && node.Value.Sequence > e.Sequence) node = node.Previous;
        return node is null ? list.AddFirst(e) : list.AddAfter(node, e);
    }

    private void Untrack(StoreEntry e)
    {
        if (e.LruNode is not null) { _lru.Remove(e.LruNode); e.LruNode = null; }
        if (e.PinnedNode is not null) { _pinned.Remove(e.PinnedNode); e.PinnedNode = null; }
    }

    private void RemoveLocked(StoreEntry e, long client = LocalClient, Recycle recycle = Recycle.None)
    {
        Volatile.Write(ref _reclaimableVersion, _reclaimableVersion + 1);
        Untrack(e);
        _objects.Remove(e.Id);
        if (e.Offset >= 0 && (recycle == Recycle.None || !TryRecycleLocked(e, client, recycle))) _allocator.Free(e.Offset, e.AllocationSize);
        if (e.SpillPath is not null) TryDeleteFile(e.SpillPath);
        if (e.State == EntryState.Spilled) _spilledNow--;
        e.Offset = -1;
    }

    private unsafe void WriteHeader(StoreEntry e)
    {
        var h = Arena.Slice(e.Offset, HeaderSize);
        BinaryPrimitives.WriteUInt32LittleEndian(h, HeaderMagic);
        BinaryPrimitives.WriteUInt32LittleEndian(h[4..], e.TypeTag);
        BinaryPrimitives.WriteInt64LittleEndian(h[8..], e.DataSize);
        BinaryPrimitives.WriteUInt64LittleEndian(h[16..], e.Id.Owner);
        BinaryPrimitives.WriteUInt64LittleEndian(h[24..], e.Id.Sequence);
    }

    private void ThrowIfDisposed()
    {
        if (_disposed) throw new PlasmaException(PlasmaStatus.Disconnected, "the object store was shut down");
    }

    /// <summary>Counters and space.</summary>
    public PlasmaStats Stats
    {
        get
        {
            lock (_lock)
            {
                return new PlasmaStats
                {
                    CapacityBytes = _allocator.Capacity,
                    UsedBytes = _allocator.Capacity - _allocator.FreeBytes,
                    Objects = _objects.Count,
                    SpilledObjectsNow = _spilledNow,
                    Evictions = _evictions,
                    SpillCount = _spillCount,
                    SpilledBytes = _spilledBytes,
                    SpillSeconds = _spillSeconds,
                    RestoreCount = _restoreCount,
                    RestoredBytes = _restoredBytes,
                    RestoreSeconds = _restoreSeconds,
                    FreeBlocks = _allocator.FreeBlocks,
                    LargestFreeBlock = _allocator.LargestFree,
                };
            }
        }
    }

    /// <summary>Fails waiting getters, unmaps the arena and removes the spill files.</summary>
    public void Dispose()
    {
        List<TaskCompletionSource> waiters;
        lock (_lock)
        {
            if (_disposed) return;
            _disposed = true;
            waiters = _sealWaiters.Values.SelectMany(l => l).ToList();
            _sealWaiters.Clear();
        }
        foreach (var w in waiters) w.TrySetException(new PlasmaException(PlasmaStatus.Disconnected, "the object store was shut down"));
        var inUse = Volatile.Read(ref _activeUsers) > 0 || LocalViews.Count > 0;
        LocalViews.InvalidateAll();
        IDisposable[] pins;
        lock (_lock) { pins = _arenaPins.ToArray(); _arenaPins.Clear(); }
        foreach (var pin in pins) pin.Dispose(); // unpin before the memory goes away
        Arena.Dispose(retireInPlace: inUse);
        RemoveSpillFiles();
    }
}
