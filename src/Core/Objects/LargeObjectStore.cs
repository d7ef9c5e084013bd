using Ray.Plasma;
using Ray.Plasma.Client;
using Ray.Plasma.Store;

namespace Ray.Objects;

/// <summary>
/// The owner's door to the node's shared-memory store: objects at or above the threshold live
/// there as pinned primary copies (spilled, never evicted, when space runs out) and are read
/// through zero-copy views. The store is created on the first large object, so runtimes that
/// never make one never map an arena.
/// </summary>
internal sealed partial class LargeObjectStore : IDisposable
{
    private readonly RuntimeOptions _options;
    private readonly object _lock = new();
    private PlasmaLocalClient? _client;
    private PlasmaClient? _node; // a connected driver: the node's store, through its socket
    private bool _disposed;

    internal LargeObjectStore(RuntimeOptions options)
    {
        _options = options;
        Threshold = options.LargeObjectThresholdBytes;
        if (options.ObjectStorePrefault == PrefaultMode.Eager) _ = Client; // asked to pay at start-up
    }

    internal long Threshold { get; }

    internal bool IsCreated => Volatile.Read(ref _client) is not null;

    internal PlasmaLocalClient Client
    {
        get
        {
            var c = Volatile.Read(ref _client);
            if (c is not null) return c;
            lock (_lock)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                if (_client is not null) return _client;
                var memory = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
                var store = new PlasmaStore(new PlasmaStoreOptions
                {
                    CapacityBytes = _options.ObjectStoreMemoryBytes ?? Math.Min((long)(memory * 0.3), 2L << 30),
                    Directory = _options.ObjectStoreDirectory ?? "/dev/shm",
                    SpillDirectory = _options.SpillDirectory,
                    Prefault = _options.ObjectStorePrefault,
                });
                Volatile.Write(ref _client, new PlasmaLocalClient(store));
                return _client!;
            }
        }
    }

    internal static PlasmaObjectId ToPlasma(ObjectId id) => new(id.Owner, id.Sequence);

    /// <summary>A connected driver keeps its large objects in the node's store, where workers map them.</summary>
    internal void UseNodeStore(string socketPath)
    {
        lock (_lock)
        {
            // Once per driver, inside the blocking RayRuntime.Connect (justified): the socket and the
            // client's own receive loop complete the connect and its Hello.
            var node = PlasmaClient.ConnectAsync(socketPath, PrefaultMode.Background).GetAwaiter().GetResult();
            node.ReleaseUnusedViewsWhenAsked(ReleaseIdleHeld); // held views never cost the store space it needs
            // Puts without a round trip: objects up to a quarter of a region are reserved in this
            // process and sealed one way (ids here are new by construction, as regions need).
            var region = RegionBytes(node.Arena.Capacity);
            if (region > 0) node.UseRegions(region);
            _node = node;
        }
    }

    /// <summary>
    /// A connected driver's region: 16 MiB (1 MiB objects take a region each 15 puts, two asked
    /// for ahead; 64 MiB measured no faster and holds four times the space), at most a sixteenth
    /// of the store; none in a store under 16 MiB.
    /// </summary>
    internal static long RegionBytes(long capacity) => capacity < 16L << 20 ? 0 : Math.Min(16L << 20, capacity / 16);

    /// <summary>Creates, fills and seals an object; translates a full store into the runtime's error.</summary>
    internal void Put(ObjectId id, ReadOnlySpan<byte> data)
    {
        PlasmaWriteBuffer buffer;
        try
        {
            buffer = _node is { } node ? node.Create(ToPlasma(id), data.Length) : Client.Create(ToPlasma(id), data.Length);
        }
        catch (PlasmaException e) { throw ExceptionFactory.NodeStoreFailed(id, e, data.Length); }
        try
        {
            data.CopyTo(buffer.Span);
            if (_node is null) buffer.Seal();
            else if (buffer.SealKeepingView() is { } view) KeepCreated(id, view); // the first view needs no Get
        }
        catch
        {
            buffer.Dispose(); // aborts the unsealed object: its space comes back
            throw;
        }
    }

    /// <summary>A view of the object (restored from disk first if it was spilled).</summary>
    internal PlasmaBuffer View(ObjectId id)
    {
        if (_node is { } node) return NodeView(node, id);
        PlasmaBuffer? view;
        try { view = Client.TryGet(ToPlasma(id)); } // restores a spilled object, which can fail
        catch (PlasmaException e) { throw ExceptionFactory.NodeStoreFailed(id, e); }
        return view ?? throw ExceptionFactory.ObjectFreed(id);
    }

    internal void Delete(ObjectId id)
    {
        if (_node is { } node)
        {
            if (_held.TryRemove(id, out var held)) held.Doom(); // released now, or by its last user
            // One way, behind the release: may run on the finalizer thread, never blocks.
            if (!_disposed) DeleteRemote(node, id);
            return;
        }
        var c = Volatile.Read(ref _client);
        if (c is null || _disposed) return;
        try { c.Store.Delete(ToPlasma(id)); }
        catch (PlasmaException) { /* already gone or store shut down */ }
    }

    private static void DeleteRemote(PlasmaClient node, ObjectId id)
    {
        try { node.DeleteNoReply(ToPlasma(id)); }
        catch (Exception e) when (e is ObjectDisposedException or InvalidOperationException) { /* gone already */ }
    }

    /// <summary>The store's counters: the embedded store's, or the node store's (one request) for a connected driver.</summary>
    internal PlasmaStats? Stats
    {
        get
        {
            if (Volatile.Read(ref _node) is { } node && !_disposed)
            {
                try { return node.Stats(); }
                catch (Exception e) when (e is PlasmaException or ObjectDisposedException or IOException or InvalidOperationException) { return null; }
            }
            return Volatile.Read(ref _client)?.Store.Stats;
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _disposed = true;
            _client?.Store.Dispose();
            // Shutdown (justified): closing the client waits only for its own loops to end.
            _node?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }
}
