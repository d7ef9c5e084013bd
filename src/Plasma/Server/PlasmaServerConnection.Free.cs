using Ray.Plasma.Store;
using Ray.Protocol;

namespace Ray.Plasma.Server;

// Frees and recycled blocks: a Free batch is applied under one lock of the store; blocks it
// recycles to this client go to the client's mailbox in the arena, which the client learns of
// (a Mailbox frame) when its first block is recycled; ReturnBlocks gives back the ones the
// client will not use (docs/PROTOCOL.md, "Recycled blocks").
internal sealed partial class PlasmaServerConnection
{
    private const int FreeEntrySize = 17; // id, u8 ops
    private const int BlockEntrySize = 16; // i64 offset, i64 length

    // Reused by the receive loop (one frame at a time on a connection).
    private (PlasmaObjectId Id, byte Ops)[] _freeEntries = [];

    private void OnFree(ref PayloadReader r, in FrameHeader h)
    {
        var count = r.U32();
        if (count == 0 || count > (PlasmaProtocol.MaxPayload - 4) / FreeEntrySize)
            throw new ProtocolException($"client {ClientId} sent a Free of {count} entries");
        if (_freeEntries.Length < count) _freeEntries = new (PlasmaObjectId, byte)[Math.Max(count, 64)];
        for (var i = 0; i < count; i++)
        {
            var id = ReadId(ref r);
            var ops = r.U8();
            if (ops is 0 or > 7 || ((ops & PlasmaStore.FreeClaimed) != 0 && ops != 7)) throw new ProtocolException($"client {ClientId} sent Free ops {ops}");
            _freeEntries[i] = (id, ops);
        }
        r.End();
        // Recycling needs the client's space in the store, which only its disconnect removes
        // (with every block in it and the mailbox): a close racing with this batch leaks nothing.
        long mailbox;
        try { mailbox = server.Store.FreeBatch(ClientId, _freeEntries.AsSpan(0, (int)count)); }
        catch (PlasmaException e) { RefuseOneWay(h, e); return; } // a bad claim: the client writes where it must not

        if (mailbox < 0) return;
        Span<byte> payload = stackalloc byte[12];
        var b = new PayloadBuilder(payload);
        b.I64(mailbox);
        b.U32(RecycleMailbox.Capacity);
        Send((ushort)PlasmaMessageKind.Mailbox, FrameFlags.NoReply, 0, b.Written);
    }

    private void OnReturnBlocks(ref PayloadReader r, in FrameHeader h)
    {
        var count = r.U32();
        if (count == 0 || count > (PlasmaProtocol.MaxPayload - 4) / BlockEntrySize)
            throw new ProtocolException($"client {ClientId} sent a ReturnBlocks of {count} entries");
        for (var i = 0; i < count; i++)
        {
            var offset = r.I64();
            var length = r.I64();
            if (!server.Store.ReturnRecycled(ClientId, offset, length))
                RefuseOneWay(h, new PlasmaException(PlasmaStatus.InvalidRequest, $"client {ClientId} holds no recycled block of {length} bytes at {offset}"));
        }
        r.End();
    }
}
