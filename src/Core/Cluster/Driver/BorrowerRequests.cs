using System.Buffers;
using Ray.Cluster.Transport;
using Ray.Cluster.Wire;
using Ray.Contract.Messages;
using Ray.Objects;
using Ray.Protocol;

namespace Ray.Cluster.Driver;

/// <summary>
/// The owner's side of borrowed objects: a worker that got a ref to one of this runtime's
/// objects while it was pending asks for its value (WantObject, passed on by the raylet); the
/// answer (ObjectValue) goes back through the raylet when the object is done, holding a
/// reference meanwhile so the object cannot be freed under the request. An object already
/// freed (every reference dropped) is answered with <see cref="ObjectLostException"/>.
/// </summary>
internal sealed class BorrowerRequests(ControlLink link, MemoryStore store, Func<ObjectEntry, bool, bool, bool> cancel)
{
    /// <summary>Takes the raylet's pushes on the driver's link (WantObject, CancelObject).</summary>
    internal void Install() => link.Pushed = OnPushed;

    private void OnPushed(ushort kind, ReadOnlySequence<byte> payload)
    {
        if (kind == (ushort)ClusterMessageKind.CancelObject)
        {
            var (o, s, force, recursive) = ClusterCodec.DecodeCancelObject(payload);
            if (store.TryLookup(new ObjectId(o, s), out var target))
            {
                // Off the link's thread: cancelling runs token callbacks (user code).
                ThreadPool.UnsafeQueueUserWorkItem(static x => x.cancel(x.target, x.force, x.recursive), (cancel, target, force, recursive), preferLocal: false);
            }
            return;
        }
        if (kind != (ushort)ClusterMessageKind.WantObject) throw new ProtocolException($"the raylet pushed message kind {kind}; a driver takes WantObject and CancelObject only");
        var (worker, owner, sequence) = ClusterCodec.DecodeWantObjectFor(payload);
        var id = new ObjectId(owner, sequence);
        if (!store.TryLookup(id, out var entry) || !entry.TryAddRef())
        {
            Send(worker, id, static (w, id) => ClusterCodec.WriteFailedBody(w, "Ray.ObjectLostException",
                $"Object {id} was freed by its owner before a borrower read it (every reference there was dropped)."));
            return;
        }
        if (!entry.TryAddListener(new Want(this, worker))) Answer(worker, entry);
    }

    // The object is done: its value (or failure) as a ref carries it, then the reference taken for the request goes.
    private void Answer(uint worker, ObjectEntry entry)
    {
        try { Send(worker, entry.Id, (w, _) => RefWire.WriteBody(w, entry)); }
        catch (Exception e) when (e is RaySerializationException or NotSupportedException or InvalidOperationException)
        {
            Send(worker, entry.Id, (w, id) => ClusterCodec.WriteFailedBody(w, e.GetType().FullName ?? "Ray.RayException", e.Message));
        }
        finally { entry.Release(); }
    }

    private void Send(uint worker, ObjectId id, Action<PayloadWriter, ObjectId> body)
    {
        var payload = PayloadWriter.Build((worker, id, body), static (w, s) =>
        {
            w.U32(s.worker);
            w.U64(s.id.Owner);
            w.U64(s.id.Sequence);
            s.body(w, s.id);
        });
        if (payload.Length > ClusterProtocol.MaxPayload - 64)
        {
            // Too large for a control frame (a value holding refs is written inline): a clear failure, not a closed link.
            var size = payload.Length;
            payload = PayloadWriter.Build((worker, id, size), static (w, s) =>
            {
                w.U32(s.worker);
                w.U64(s.id.Owner);
                w.U64(s.id.Sequence);
                ClusterCodec.WriteFailedBody(w, "System.NotSupportedException",
                    $"Object {s.id} takes {s.size} bytes as a borrowed value (it holds refs, or lives outside the node's store), more than the {ClusterProtocol.MaxPayload} a borrowed answer may carry: pass it to the task when it is ready, or put its large parts in their own objects.");
            });
        }
        try { link.Send((ushort)ClusterMessageKind.ObjectValue, payload); }
        catch (Exception e) when (e is ObjectDisposedException or InvalidOperationException or IOException) { /* the raylet is gone: so is the borrower's way back */ }
    }

    private sealed class Want(BorrowerRequests owner, uint worker) : IObjectListener
    {
        public void OnObjectCompleted(ObjectEntry entry) => owner.Answer(worker, entry);
    }
}
