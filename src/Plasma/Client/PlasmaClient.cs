using System.Buffers;
using System.Collections.Concurrent;
using System.Net.Sockets;
using Ray.Plasma.Server;
using Ray.Plasma.Store;
using Ray.Protocol;

namespace Ray.Plasma.Client;

/// <summary>
/// A client in another process: requests go over the node's Unix socket (pipelined: many may
/// be in flight), data never does. The arena is mapped once at connect, and every get returns
/// a view into that mapping, with no copy.
/// </summary>
public sealed partial class PlasmaClient : IPlasmaClient, IPlasmaReleaser, IPlasmaSealer
{
    private readonly Connection _connection;
    private readonly ReplyTable<byte[]> _replies = new();
    private readonly ViewRegistry _views = new();
    private PlasmaArena? _arena;

    private PlasmaClient(Socket socket) => _connection = new Connection(this, socket);

    /// <inheritdoc />
    public PlasmaArena Arena => _arena ?? throw new InvalidOperationException("not connected");

    /// <summary>Connects to the store at <paramref name="socketPath"/> and maps its arena.</summary>
    public static Task<PlasmaClient> ConnectAsync(string socketPath, CancellationToken cancel = default) =>
        ConnectAsync(socketPath, PrefaultMode.None, cancel);

    /// <summary>
    /// Connects and maps the arena; <paramref name="prefault"/> other than None sets up this
    /// process's page mappings ahead (the pages exist already), so writing a large object does
    /// not take a page fault per 4 KiB on first touch.
    /// </summary>
    public static async Task<PlasmaClient> ConnectAsync(string socketPath, PrefaultMode prefault, CancellationToken cancel = default)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancel).ConfigureAwait(false);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        var client = new PlasmaClient(socket);
        _ = client._connection.RunAsync();
        try
        {
            Span<byte> p = stackalloc byte[4];
            var b = new PayloadBuilder(p);
            b.U32(PlasmaProtocol.Version);
            var reply = await client.RequestAsync(PlasmaMessageKind.Hello, b.Written).ConfigureAwait(false);
            var r = new PayloadReader(new ReadOnlySequence<byte>(reply), (ushort)PlasmaMessageKind.Hello);
            r.U32();
            var capacity = (long)r.U64();
            var path = r.Utf8();
            client._arena = PlasmaArena.Open(path, capacity, prefault);
            return client;
        }
        catch
        {
            await client.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <inheritdoc />
    public async ValueTask<PlasmaWriteBuffer> CreateAsync(PlasmaObjectId id, long dataSize, uint typeTag = 0, bool pinned = true)
    {
        var reply = await RequestAsync(PlasmaMessageKind.Create, Encode(id, dataSize, typeTag, pinned)).ConfigureAwait(false);
        var offset = BitConverter.ToInt64(reply);
        return NewWriteBuffer(id, offset, dataSize);
    }

    private unsafe PlasmaWriteBuffer NewWriteBuffer(PlasmaObjectId id, long offset, long size) => new(this, id, Arena.Base + offset, size);

    /// <inheritdoc />
    public async ValueTask<PlasmaBuffer> GetAsync(PlasmaObjectId id, TimeSpan timeout)
    {
        var us = timeout == Timeout.InfiniteTimeSpan ? -1L : (long)timeout.TotalMicroseconds;
        var reply = await RequestAsync(PlasmaMessageKind.Get, EncodeIdAnd(id, us)).ConfigureAwait(false);
        var offset = BitConverter.ToInt64(reply);
        var size = BitConverter.ToInt64(reply, 8);
        var tag = BitConverter.ToUInt32(reply, 16);
        return NewView(new PlasmaObjectInfo(id, offset, size, tag));
    }

    private unsafe PlasmaBuffer NewView(PlasmaObjectInfo info)
    {
        if (info.DataOffset < 0 || info.DataOffset + info.DataSize > Arena.Capacity)
            throw new PlasmaException(PlasmaStatus.InvalidRequest, $"the store answered a range outside the arena for {info.Id}");
        return _views.Add(new PlasmaBuffer(this, info, Arena.Base + info.DataOffset));
    }

    /// <inheritdoc />
    public async ValueTask<bool> ContainsAsync(PlasmaObjectId id) =>
        (await RequestAsync(PlasmaMessageKind.Contains, EncodeId(id)).ConfigureAwait(false))[0] != 0;

    /// <inheritdoc />
    public async ValueTask<bool> DeleteAsync(PlasmaObjectId id) =>
        (await RequestAsync(PlasmaMessageKind.Delete, EncodeId(id)).ConfigureAwait(false))[0] != 0;

    /// <summary>
    /// Deletes without waiting for the answer (one way, batched with other frees: sent within
    /// 2 ms, or before the next request): the store applies it in order after everything this
    /// client sent before. Never blocks; a no-op once the connection is gone.
    /// </summary>
    public void DeleteNoReply(PlasmaObjectId id)
    {
        QueueFree(id, FreeOps.Delete);
    }

    /// <inheritdoc />
    public async ValueTask<PlasmaStats> StatsAsync()
    {
        var reply = await RequestAsync(PlasmaMessageKind.Stats, default).ConfigureAwait(false);
        var r = new PayloadReader(new ReadOnlySequence<byte>(reply), (ushort)PlasmaMessageKind.Stats);
        return PlasmaStatsCodec.Read(ref r);
    }

    /// <summary>Seals an object created with a Create request (a round trip).</summary>
    internal async ValueTask SealIdAsync(PlasmaObjectId id) => await RequestAsync(PlasmaMessageKind.Seal, EncodeId(id)).ConfigureAwait(false);

    ValueTask IPlasmaSealer.SealAsync(PlasmaWriteBuffer buffer)
    {
        if (buffer.Slot is RegionSlot slot)
        {
            SealInRegion(buffer, slot, keepReference: false);
            return ValueTask.CompletedTask;
        }
        return SealIdAsync(buffer.Id);
    }

    async ValueTask IPlasmaSealer.AbortAsync(PlasmaWriteBuffer buffer)
    {
        if (buffer.Slot is RegionSlot slot) AbortInRegion(slot);
        else await RequestAsync(PlasmaMessageKind.Abort, EncodeId(buffer.Id)).ConfigureAwait(false);
    }

    void IPlasmaSealer.Seal(PlasmaWriteBuffer buffer)
    {
        if (buffer.Slot is RegionSlot slot) SealInRegion(buffer, slot, keepReference: false);
        else Request(PlasmaMessageKind.Seal, EncodeId(buffer.Id));
    }

    PlasmaBuffer? IPlasmaSealer.SealKeepingView(PlasmaWriteBuffer buffer)
    {
        if (buffer.Slot is RegionSlot slot) return SealInRegion(buffer, slot, keepReference: true);
        Request(PlasmaMessageKind.Seal, EncodeId(buffer.Id));
        return null;
    }

    void IPlasmaSealer.Abort(PlasmaWriteBuffer buffer)
    {
        if (buffer.Slot is RegionSlot slot) AbortInRegion(slot);
        else Request(PlasmaMessageKind.Abort, EncodeId(buffer.Id));
    }

    // ---- the blocking forms, for callers that are synchronous by contract (a task's Put, a Get) ----

    /// <summary>Blocking form of <see cref="CreateAsync"/>: returns when the store has reserved the bytes.</summary>
    /// <exception cref="PlasmaException">The store refused (full, exists, ...) or the connection is gone.</exception>
    /// <remarks>With regions on (<see cref="UseRegions"/>), an object that fits one is reserved
    /// in this process without a request; an id the store holds already is then found at the seal.</remarks>
    public PlasmaWriteBuffer Create(PlasmaObjectId id, long dataSize, uint typeTag = 0, bool pinned = true) =>
        TryCreateInRegion(id, dataSize, typeTag, pinned) ??
        NewWriteBuffer(id, BitConverter.ToInt64(Request(PlasmaMessageKind.Create, Encode(id, dataSize, typeTag, pinned))), dataSize);

    /// <summary>Blocking form of <see cref="GetAsync"/>.</summary>
    /// <exception cref="PlasmaException">Not sealed within <paramref name="timeout"/>, unknown, or the connection is gone.</exception>
    public PlasmaBuffer Get(PlasmaObjectId id, TimeSpan timeout)
    {
        var us = timeout == Timeout.InfiniteTimeSpan ? -1L : (long)timeout.TotalMicroseconds;
        var reply = Request(PlasmaMessageKind.Get, EncodeIdAnd(id, us));
        return NewView(new PlasmaObjectInfo(id, BitConverter.ToInt64(reply), BitConverter.ToInt64(reply, 8), BitConverter.ToUInt32(reply, 16)));
    }

    /// <summary>Blocking form of <see cref="StatsAsync"/>.</summary>
    public PlasmaStats Stats()
    {
        var r = new PayloadReader(new ReadOnlySequence<byte>(Request(PlasmaMessageKind.Stats, default)), (ushort)PlasmaMessageKind.Stats);
        return PlasmaStatsCodec.Read(ref r);
    }

    // Sends a request and waits for its reply on the reply's own event: the receive loop
    // completes it directly, no continuation of the caller has to run first (not sync-over-async).
    private byte[] Request(PlasmaMessageKind kind, ReadOnlySpan<byte> payload)
    {
        var reply = RequestAsync(kind, payload);
        try { reply.Wait(); } // spins briefly, then blocks on a slim event
        catch (AggregateException) { /* rethrown below as the store's own exception */ }
        if (reply.IsCompletedSuccessfully) return reply.Result;
        System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(reply.Exception!.InnerException!);
        return null!;
    }

    void IPlasmaReleaser.Release(PlasmaBuffer view)
    {
        if (!_views.Remove(view)) return;
        QueueFree(view.Id, FreeOps.Release, view); // batched; before anything else this client sends
    }

    // ---- views kept for reuse ----

    private Func<long>? _reclaim;

    /// <summary>
    /// Declares that this client keeps views it is not using (a cache of views for fast reuse)
    /// and lets the store reclaim them: before the store reports itself full it asks this client,
    /// which calls <paramref name="releaseUnused"/> (on the connection's receive thread; it must
    /// dispose only views nobody is using, must not block, and returns the bytes released).
    /// </summary>
    public void ReleaseUnusedViewsWhenAsked(Func<long> releaseUnused)
    {
        ArgumentNullException.ThrowIfNull(releaseUnused);
        Volatile.Write(ref _reclaim, releaseUnused);
        Send(PlasmaMessageKind.HoldsViews, FrameFlags.NoReply, NextId(), default);
    }

    private void OnReclaimRequest(ulong requestId)
    {
        long freed = 0;
        try { freed = Volatile.Read(ref _reclaim)?.Invoke() ?? 0; }
        catch (Exception e) when (e is not OutOfMemoryException) { /* the store goes on without our views */ }
        // After the releases the callback queued: the store applies them before it reads this.
        ReturnRegions(); // what is left of our regions goes back too, before the reply
        Span<byte> reply = stackalloc byte[8];
        BitConverter.TryWriteBytes(reply, (ulong)freed);
        Send(PlasmaMessageKind.Reclaim, FrameFlags.Reply, requestId, reply);
    }

    // ---- requests ----

    private ulong NextId() => _replies.NextId();

    private Task<byte[]> RequestAsync(PlasmaMessageKind kind, ReadOnlySpan<byte> payload)
    {
        var (id, reply) = _replies.Add();
        if (_connection.CloseReason is not null || !Send(OutFrame.Create((ushort)kind, FrameFlags.None, id, payload)))
            _replies.Fail(id, Disconnected(_connection.CloseReason ?? "closed"));
        return reply;
    }

    private void OnReply(in Frame frame)
    {
        var h = frame.Header;
        if ((h.Flags & FrameFlags.Reply) == 0 && h.Kind == (ushort)PlasmaMessageKind.Reclaim)
        {
            OnReclaimRequest(h.RequestId);
            return;
        }
        if ((h.Flags & FrameFlags.Reply) == 0 && h.Kind == (ushort)PlasmaMessageKind.Mailbox)
        {
            OnMailbox(frame);
            return;
        }
        if ((h.Flags & FrameFlags.Reply) == 0) throw new ProtocolException($"the store sent a request frame (kind {h.Kind})");
        bool known;
        if ((h.Flags & FrameFlags.Error) != 0)
        {
            var r = new PayloadReader(frame.Payload, h.Kind);
            var status = (PlasmaStatus)r.U16();
            var message = r.Utf8();
            known = _replies.Fail(h.RequestId, new PlasmaException(status, message));
            // A one-way request refused (a region seal): the store closes the connection next;
            // close with its reason, so every view and request fails saying why.
            if (!known) throw new ProtocolException($"the store refused one-way {(PlasmaMessageKind)h.Kind} ({status}): {message}");
        }
        else known = _replies.Complete(h.RequestId, frame.Payload.ToArray());
        // Requests here never time out and are never forgotten: a reply nobody waits for is the store's error.
        if (!known) throw new ProtocolException($"the store answered unknown request {h.RequestId}");
    }

    private void OnClosed(string reason)
    {
        // The store dropped our references: the bytes under our views may be reused now.
        _views.InvalidateAll();
        _replies.FailAll(() => Disconnected(reason));
    }

    private static PlasmaException Disconnected(string reason) => new(PlasmaStatus.Disconnected, "lost the connection to the object store: " + reason);

    private static byte[] EncodeId(PlasmaObjectId id) => EncodeIdAnd(id, null);

    private static byte[] EncodeIdAnd(PlasmaObjectId id, long? extra)
    {
        var buf = new byte[extra is null ? 16 : 24];
        BitConverter.TryWriteBytes(buf, id.Owner);
        BitConverter.TryWriteBytes(buf.AsSpan(8), id.Sequence);
        if (extra is { } x) BitConverter.TryWriteBytes(buf.AsSpan(16), x);
        return buf;
    }

    private static byte[] Encode(PlasmaObjectId id, long size, uint tag, bool pinned)
    {
        var buf = new byte[29];
        var b = new PayloadBuilder(buf);
        b.U64(id.Owner); b.U64(id.Sequence); b.I64(size); b.U32(tag); b.U8(pinned ? (byte)1 : (byte)0);
        return buf;
    }

    /// <summary>Closes the connection; the store releases this client's views and unsealed objects.</summary>
    public async ValueTask DisposeAsync()
    {
        FlushFrees(); // a clean close sends what it freed (the store would drop it all anyway)
        if (Volatile.Read(ref _freeTimer) is { } timer) await timer.DisposeAsync().ConfigureAwait(false);
        await _connection.CloseAsync("closed locally").ConfigureAwait(false);
        await _connection.Completion.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        var inUse = _views.Count > 0;
        _views.InvalidateAll();
        _arena?.Dispose(retireInPlace: inUse); // a span still being read sees zeros, never a fault
    }

    private sealed class Connection(PlasmaClient owner, Socket socket) : FramedConnection(socket, PlasmaProtocol.MaxPayload)
    {
        protected override void OnFrame(in Frame frame) => owner.OnReply(frame);

        protected override void OnClosed(string reason) => owner.OnClosed(reason);
    }
}
