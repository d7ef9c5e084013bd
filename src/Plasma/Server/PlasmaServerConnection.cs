using Ray.Plasma.Store;
using Ray.Protocol;

namespace Ray.Plasma.Server;

/// <summary>
/// One client of the store server: decodes its requests and answers them. Frames are at most
/// <see cref="PlasmaProtocol.MaxHelloPayload"/> bytes until its Hello, then
/// <see cref="PlasmaProtocol.MaxPayload"/>. Gets that wait for an object are tied to the
/// connection: when it closes they are cancelled and leave the store's waiter table.
/// </summary>
internal sealed partial class PlasmaServerConnection(PlasmaServer server, System.Net.Sockets.Socket socket, long clientId)
    : FramedConnection(socket, PlasmaProtocol.MaxHelloPayload)
{
    private readonly CancellationTokenSource _closed = new();
    private volatile bool _helloDone;
    private volatile bool _overCapacity;
    private volatile bool _versionMismatch;
    private int _waitingGets;

    internal long ClientId { get; } = clientId;

    protected override void OnClosed(string reason)
    {
        _closed.Cancel(); // every waiting Get leaves the store's waiter table
        server.OnClientClosed(this, reason, _helloDone, _overCapacity, _versionMismatch ? ConnectionRejection.VersionMismatch : null);
        CancelReclaims();
    }

    protected override void OnFrame(in Frame frame)
    {
        var h = frame.Header;
        var kind = (PlasmaMessageKind)h.Kind;
        if ((h.Flags & FrameFlags.Reply) != 0)
        {
            if (_helloDone && kind == PlasmaMessageKind.Reclaim) { OnReclaimReply(frame); return; }
            throw new ProtocolException($"client {ClientId} sent a reply frame (kind {h.Kind})");
        }
        if (!_helloDone && kind != PlasmaMessageKind.Hello) throw new ProtocolException($"client {ClientId} sent kind {h.Kind} before Hello");
        var r = new PayloadReader(frame.Payload, h.Kind);
        var store = server.Store;
        Span<byte> reply = stackalloc byte[4096];
        var b = new PayloadBuilder(reply);
        try
        {
            switch (kind)
            {
                case PlasmaMessageKind.Hello:
                {
                    var version = r.U32();
                    r.End();
                    if (version != PlasmaProtocol.Version)
                    {
                        _versionMismatch = true;
                        throw new ProtocolException($"client {ClientId} speaks protocol version {version}, this store speaks {PlasmaProtocol.Version}");
                    }
                    if (_helloDone) throw new ProtocolException($"client {ClientId} sent a second Hello");
                    if (server.TryAuthenticate(this) is { } refusal)
                    {
                        _overCapacity = true;
                        SendError(h.Kind, h.RequestId, PlasmaStatus.TooManyConnections, $"the store refused client {ClientId}: {refusal}");
                        throw new ProtocolException("refused: " + refusal);
                    }
                    _helloDone = true;
                    MaxPayload = PlasmaProtocol.MaxPayload; // frames pipelined behind the Hello get the full limit
                    b.U32(PlasmaProtocol.Version);
                    b.U64((ulong)store.Arena.Capacity);
                    b.Utf8(store.Arena.Path);
                    break;
                }
                case PlasmaMessageKind.Create:
                {
                    var id = ReadId(ref r);
                    var size = r.I64();
                    var tag = r.U32();
                    var pinned = r.U8() != 0;
                    r.End();
                    long offset;
                    try { offset = store.Create(id, size, tag, pinned, ClientId); }
                    catch (ObjectStoreFullException full) when (server.CanReclaim && (h.Flags & FrameFlags.NoReply) == 0)
                    {
                        // Readers keep views they are not using: ask them to drop those, then try again.
                        ReplyLaterAfterReclaim(h.Kind, h.RequestId, full, () => Encode(store.Create(id, size, tag, pinned, ClientId)));
                        return; // replied later
                    }
                    b.I64(offset);
                    break;
                }
                case PlasmaMessageKind.Seal:
                    store.Seal(ReadIdOnly(ref r), ClientId);
                    break;
                case PlasmaMessageKind.Abort:
                    store.Abort(ReadIdOnly(ref r), ClientId);
                    break;
                case PlasmaMessageKind.Release:
                    store.Release(ReadIdOnly(ref r), ClientId);
                    break;
                case PlasmaMessageKind.Delete:
                    b.U8(store.Delete(ReadIdOnly(ref r)) ? (byte)1 : (byte)0);
                    break;
                case PlasmaMessageKind.Contains:
                    b.U8(store.Contains(ReadIdOnly(ref r)) ? (byte)1 : (byte)0);
                    break;
                case PlasmaMessageKind.Get:
                {
                    var id = ReadId(ref r);
                    var timeoutUs = r.I64();
                    r.End();
                    if ((h.Flags & FrameFlags.NoReply) != 0)
                        throw new ProtocolException($"client {ClientId} sent a one-way Get: its reference could never be released");
                    bool found;
                    PlasmaObjectInfo info;
                    try { found = store.TryGet(id, out info, ClientId); }
                    catch (ObjectStoreFullException full) when (server.CanReclaim)
                    {
                        // Spilled, and its restore found no room: the same as a create.
                        ReplyLaterAfterReclaim(h.Kind, h.RequestId, full, () => EncodeInfo(RestoreOrThrow(id)));
                        return; // replied later
                    }
                    if (found)
                    {
                        WriteInfo(ref b, info);
                        break;
                    }
                    // Negative, or longer than a timer can wait (about 49 days): wait forever.
                    var timeout = timeoutUs < 0 || timeoutUs > (long)int.MaxValue * 1000 ? Timeout.InfiniteTimeSpan : TimeSpan.FromMicroseconds(timeoutUs);
                    TakeWaitingSlot();
                    _ = GetSlowAsync(h.RequestId, id, timeout);
                    return; // replied later
                }
                case PlasmaMessageKind.GrantRegion:
                {
                    var size = r.I64();
                    r.End();
                    var offset = store.GrantRegion(ClientId, size);
                    // Granted while the connection closed: the close may have taken back the
                    // client's regions before this one existed.
                    if (CloseReason is not null) store.DisconnectClient(ClientId);
                    b.I64(offset);
                    b.I64(ArenaAllocator.RoundUp(size));
                    break;
                }
                case PlasmaMessageKind.SealInRegion:
                {
                    var id = ReadId(ref r);
                    var dataOffset = r.I64();
                    var size = r.I64();
                    var tag = r.U32();
                    var flags = r.U8();
                    r.End();
                    if ((flags & ~3) != 0) throw new ProtocolException($"client {ClientId} sent SealInRegion flags {flags}");
                    try { store.SealInRegion(id, dataOffset, size, tag, (flags & 1) != 0, ClientId, keepReference: (flags & 2) != 0); }
                    catch (PlasmaException e) { RefuseOneWay(h, e); }
                    break;
                }
                case PlasmaMessageKind.RetireRegion:
                {
                    var offset = r.I64();
                    r.End();
                    if (!store.RetireRegion(ClientId, offset))
                        RefuseOneWay(h, new PlasmaException(PlasmaStatus.InvalidRequest, $"client {ClientId} holds no region at {offset}"));
                    break;
                }
                case PlasmaMessageKind.Free:
                    OnFree(ref r, h);
                    break;
                case PlasmaMessageKind.ReturnBlocks:
                    OnReturnBlocks(ref r, h);
                    break;
                case PlasmaMessageKind.HoldsViews:
                    r.End();
                    server.AddReclaimable(this);
                    break;
                case PlasmaMessageKind.Stats:
                {
                    r.End();
                    PlasmaStatsCodec.Write(ref b, store.Stats);
                    break;
                }
                default:
                    throw new ProtocolException($"client {ClientId} sent unknown message kind {h.Kind}");
            }
        }
        catch (PlasmaException e)
        {
            if ((h.Flags & FrameFlags.NoReply) == 0) SendError(h.Kind, h.RequestId, e.Status, e.Message);
            return;
        }
        if ((h.Flags & FrameFlags.NoReply) == 0) Send(h.Kind, FrameFlags.Reply, h.RequestId, b.Written);
    }

    /// <summary>
    /// A one-way request the client cannot be told about failed (a region seal it believes
    /// done): an error frame with the request's id says why, then the connection closes, so the
    /// client never goes on with a wrong belief (its views and waits fail with the reason).
    /// </summary>
    private void RefuseOneWay(in FrameHeader h, PlasmaException e)
    {
        if (e.Status == PlasmaStatus.Disconnected) throw new ProtocolException(e.Message); // the store is shutting down
        SendError(h.Kind, h.RequestId, e.Status, e.Message);
        throw new ProtocolException($"client {ClientId}: one-way {(PlasmaMessageKind)h.Kind} refused: {e.Message}");
    }

    private async Task GetSlowAsync(ulong requestId, PlasmaObjectId id, TimeSpan timeout)
    {
        try
        {
            PlasmaObjectInfo info;
            try { info = await server.Store.GetAsync(id, timeout, ClientId, _closed.Token).ConfigureAwait(false); }
            catch (ObjectStoreFullException full) when (server.CanReclaim)
            {
                await ReplyAfterReclaimAsync((ushort)PlasmaMessageKind.Get, requestId, full, () => EncodeInfo(RestoreOrThrow(id))).ConfigureAwait(false);
                return;
            }
            if (CloseReason is not null)
            {
                server.Store.Release(id, ClientId); // the client is gone; do not leak its view
                return;
            }
            Send((ushort)PlasmaMessageKind.Get, FrameFlags.Reply, requestId, EncodeInfo(info));
        }
        catch (PlasmaException e)
        {
            SendError((ushort)PlasmaMessageKind.Get, requestId, e.Status, e.Message);
        }
        catch (OperationCanceledException)
        {
            // The connection closed: the store already dropped this wait; nobody to answer.
        }
        finally
        {
            Interlocked.Decrement(ref _waitingGets);
        }
    }

    private void SendError(ushort kind, ulong requestId, PlasmaStatus status, string message)
    {
        var buf = new byte[8 + 4002];
        var b = new PayloadBuilder(buf);
        b.U16((ushort)status);
        b.Utf8(message);
        Send(kind, FrameFlags.Reply | FrameFlags.Error, requestId, b.Written);
    }

    private static void WriteInfo(ref PayloadBuilder b, PlasmaObjectInfo info)
    {
        b.I64(info.DataOffset);
        b.I64(info.DataSize);
        b.U32(info.TypeTag);
    }

    private static PlasmaObjectId ReadId(ref PayloadReader r) => new(r.U64(), r.U64());

    private static PlasmaObjectId ReadIdOnly(ref PayloadReader r)
    {
        var id = ReadId(ref r);
        r.End();
        return id;
    }
}
