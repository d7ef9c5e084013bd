using System.Collections.Concurrent;
using Ray.Plasma.Store;
using Ray.Protocol;

namespace Ray.Plasma.Server;

// Asking a client to drop the views it keeps but does not use, and finishing a create or a
// restore that found the store full once they are gone.
internal sealed partial class PlasmaServerConnection
{
    private readonly ConcurrentDictionary<ulong, TaskCompletionSource<long>> _reclaims = new();
    private long _nextReclaim;

    /// <summary>Sends a Reclaim request and waits (bounded) for its reply: the bytes this client released, or -1 when it did not answer in time.</summary>
    internal async Task<long> AskReclaimAsync(TimeSpan wait)
    {
        var id = (ulong)Interlocked.Increment(ref _nextReclaim);
        var tcs = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        _reclaims[id] = tcs;
        try
        {
            if (CloseReason is not null || !Send((ushort)PlasmaMessageKind.Reclaim, FrameFlags.None, id, default)) return 0;
            return await tcs.Task.WaitAsync(wait).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            return -1; // a client that does not answer keeps its views; the caller reports the store full
        }
        finally
        {
            _reclaims.TryRemove(id, out _);
        }
    }

    private void OnReclaimReply(in Frame frame)
    {
        var h = frame.Header;
        if (!_reclaims.TryRemove(h.RequestId, out var tcs)) return; // answered after we stopped waiting
        long freed = 0;
        if ((h.Flags & FrameFlags.Error) == 0)
        {
            var r = new PayloadReader(frame.Payload, h.Kind);
            freed = (long)r.U64();
            r.End();
        }
        tcs.TrySetResult(freed);
    }

    private void CancelReclaims()
    {
        foreach (var id in _reclaims.Keys)
            if (_reclaims.TryRemove(id, out var tcs)) tcs.TrySetResult(0); // its views went with the connection
    }

    /// <summary>
    /// A create or restore found the store full: asks the clients that keep unused views to drop
    /// them and tries again while that frees something (a few rounds), then replies with the
    /// result or the last full error, which names the sizes.
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
                if (released == 0) break; // nobody had more to give: full it is
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
