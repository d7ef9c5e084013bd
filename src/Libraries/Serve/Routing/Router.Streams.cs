using System.Runtime.CompilerServices;
using MemoryPack;
using Ray.Serve.Replica;

namespace Ray.Serve.Routing;

/// <summary>
/// Streaming calls: the request is routed like any other (and counts against the replica's
/// MaxOngoingRequests until the stream ends); the replica runs the user's IAsyncEnumerable into a
/// bounded buffer; the caller pulls what is there with long-polling <c>NextAsync</c> calls to that
/// replica. Core's own streaming returns are not used (another change is adding them): this needs
/// only actor calls, in both modes. Ending the enumeration early cancels the stream on the replica.
/// </summary>
internal sealed partial class Router
{
    private const int ChunkItems = 64;
    private const int PollMs = 500;

    /// <summary>Starts a stream on a replica and reads its items (MemoryPack bytes of the item type).</summary>
    internal async IAsyncEnumerable<byte[]> StreamAsync(ReplicaCall call, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var (slot, reply) = await SendAsync(call, CallKind.Stream, cancellationToken).ConfigureAwait(false);
        var id = MemoryPackSerializer.Deserialize<string>(reply.Payload)!;
        var done = false;
        try
        {
            while (!done)
            {
                var chunk = await NextChunkAsync(slot, id, cancellationToken).ConfigureAwait(false);
                foreach (var item in chunk.Items) yield return item;
                done = chunk.Done;
                if (done && chunk.ErrorType is not null)
                    throw new DeploymentException(Name, chunk.ErrorType, chunk.ErrorMessage ?? "", null);
            }
        }
        finally
        {
            // Stopped early (the consumer broke off, was cancelled, or the replica failed): tell the replica.
            if (!done && slot.Handle.IsAlive)
                try { _ = slot.Handle.Task((ReplicaActor r, string i) => r.CancelStream(i)).Remote(id); } catch (Exception) { }
            Release(slot);
        }
    }

    private async Task<StreamChunk> NextChunkAsync(ReplicaSlot slot, string id, CancellationToken cancellationToken)
    {
        try
        {
            var next = slot.Handle.Task((ReplicaActor r, string i, int m, int w) => r.NextAsync(i, m, w)).Remote(id, ChunkItems, PollMs);
            try { return await next.GetAsync(cancellationToken).ConfigureAwait(false); }
            finally { next.Dispose(); }
        }
        catch (ActorDiedException e)
        {
            throw new ReplicaDiedException(Name, slot.Id, e);
        }
    }
}
