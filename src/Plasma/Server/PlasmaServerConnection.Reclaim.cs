using System.Collections.Concurrent;
using Ray.Plasma.Store;
using Ray.Protocol;

namespace Ray.Plasma.Server;

// Asking a client to drop the views it keeps but does not use, and finishing a create or a
// restore that found the store full once they are gone.
internal sealed partial class PlasmaServerConnection
{
    private readonly ConcurrentDictionary<ulong, TaskCompletionSource<bool>> _reclaims = new();
    private long _nextReclaim;

    private volatile bool _reclaimMissed;

    /// <summary>True after this client let a Reclaim go unanswered, until it answers one late.</summary>
    internal bool ReclaimMissed => _reclaimMissed;

    /// <summary>Sends a Reclaim request and waits (bounded) for its reply: false when it did not come in time.</summary>
    internal async Task<bool> AskReclaimAsync(TimeSpan wait)
    {
        var id = (ulong)Interlocked.Increment(ref _nextReclaim);
        var tcs = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        _reclaims[id] = tcs;
        try
        {
            if (CloseReason is not null || !Send((ushort)PlasmaMessageKind.Reclaim, FrameFlags.None, id, default)) return true;
            return await tcs.Task.WaitAsync(wait).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // A client that does not answer keeps its views; the caller reports the store full.
            // Marked before the race with its answer is settled, so an answer that loses it
            // (OnReclaimReply) sees the mark and counts as late. A HoldsViews does not bring it
            // back; a late answer does.
            _reclaimMissed = true;
            if (tcs.TrySetResult(false)) return false;
            _reclaimMissed = false; // the answer came just now
            return true;
        }
        finally
        {
            _reclaims.TryRemove(id, out _);
        }
    }

    private void OnReclaimReply(in Frame frame)
    {
        var h = frame.Header;
        if ((h.Flags & FrameFlags.Error) == 0)
        {
            // The bytes the client says it released: read to check the frame, not believed (the
            // store counts what it can reclaim itself).
            var r = new PayloadReader(frame.Payload, h.Kind);
            r.U64();
            r.End();
        }
        if (_reclaims.TryRemove(h.RequestId, out var tcs) && tcs.TrySetResult(true)) return;
        // Answered after we stopped waiting: the client is alive after all (a stall, not a hang),
        // so the next full store asks it again.
        if (_reclaimMissed && h.RequestId != 0 && h.RequestId <= (ulong)Interlocked.Read(ref _nextReclaim))
        {
            _reclaimMissed = false;
            server.AddReclaimable(this);
        }
    }

    private void CancelReclaims()
    {
        foreach (var id in _reclaims.Keys)
            if (_reclaims.TryRemove(id, out var tcs)) tcs.TrySetResult(true); // its views went with the connection
    }

    /// <summary>
    /// A create or restore found the store full: replies later, after a reclaim (see
    /// <see cref="ReplyAfterReclaimAsync"/>). Counted with the client's waiting Gets, under the
    /// same limit, so pipelined requests cannot pile up without bound.
    /// </summary>
    private void ReplyLaterAfterReclaim(ushort kind, ulong requestId, ObjectStoreFullException full, Func<byte[]> attempt)
    {
        TakeWaitingSlot();
        _ = ReplyAndFreeSlotAsync();

        async Task ReplyAndFreeSlotAsync()
        {
            try { await ReplyAfterReclaimAsync(kind, requestId, full, attempt).ConfigureAwait(false); }
            finally { Interlocked.Decrement(ref _waitingGets); }
        }
    }

    /// <summary>Counts one more request waiting for a reply, or refuses it (InvalidRequest) past the limit.</summary>
    private void TakeWaitingSlot()
    {
        if (Interlocked.Increment(ref _waitingGets) <= server.Options.MaxWaitingGetsPerClient) return;
        Interlocked.Decrement(ref _waitingGets);
        throw new PlasmaException(PlasmaStatus.InvalidRequest, $"client {ClientId} has {server.Options.MaxWaitingGetsPerClient} requests waiting already (Gets, or creates and restores waiting for room), the limit");
    }

    /// <summary>
    /// A create or restore found the store full: asks the clients that keep unused views to drop
    /// them and tries again while the store has more to reclaim afterwards (a few rounds), then
    /// replies with the result or the last full error, which names the sizes.
    /// </summary>
    private async Task ReplyAfterReclaimAsync(ushort kind, ulong requestId, ObjectStoreFullException full, Func<byte[]> attempt)
    {
        PlasmaException last = full;
        try
        {
            for (var round = 0; round < 4; round++)
            {
                var released = await server.ReclaimAsync().ConfigureAwait(false);
                try
                {
                    var reply = attempt();
                    if (CloseReason is not null)
                    {
                        // The client left while we waited: what the attempt took is nobody's. The
                        // store dropped this client's references and unsealed objects on close,
                        // but this attempt may have come after that.
                        server.Store.DisconnectClient(ClientId);
                        return;
                    }
                    Send(kind, FrameFlags.Reply, requestId, reply);
                    return;
                }
                catch (ObjectStoreFullException again) { last = again; }
                if (!released) break; // nothing more became reclaimable: full it is
            }
        }
        catch (PlasmaException e) { last = e; }
        SendError(kind, requestId, last.Status, last.Message);
    }

    /// <summary>Takes a reference on a sealed object, restoring it; throws when it is not there (freed meanwhile).</summary>
    private PlasmaObjectInfo RestoreOrThrow(PlasmaObjectId id) =>
        server.Store.TryGet(id, out var info, ClientId) ? info
            : throw new PlasmaException(PlasmaStatus.ObjectNotFound, $"object {id} is not in the store");

    private static byte[] Encode(long value) => BitConverter.GetBytes(value);

    private static byte[] EncodeInfo(PlasmaObjectInfo info)
    {
        var buf = new byte[20];
        var b = new PayloadBuilder(buf);
        WriteInfo(ref b, info);
        return buf;
    }
}
