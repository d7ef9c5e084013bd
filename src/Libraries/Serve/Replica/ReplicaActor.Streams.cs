using System.Collections.Concurrent;
using MemoryPack;

namespace Ray.Serve.Replica;

/// <summary>Streaming calls on a replica (see <see cref="Routing.Router"/>'s StreamAsync).</summary>
internal sealed partial class ReplicaActor
{
    private readonly ConcurrentDictionary<string, StreamPump> _streams = new(StringComparer.Ordinal);

    /// <summary>
    /// Admits a call of a method returning IAsyncEnumerable&lt;T&gt; and starts enumerating it; the
    /// reply's payload is the stream's id. The request counts as ongoing until the stream ends.
    /// </summary>
    public Task<ReplicaReply> StartStreamAsync(ReplicaCall call)
    {
        if (Admit() is { } refused) return Task.FromResult(refused);
        return Task.Run(() =>
        {
            try
            {
                var method = MethodInvoker.For(_userType, call.Method, call.Args.Length);
                var itemType = method.StreamItemType ?? throw new ArgumentException($"{_userType.Name}.{call.Method} does not return an IAsyncEnumerable<T>: call it with Remote, not Stream.");
                object source;
                try { source = method.Method.Invoke(_user, method.ReadArguments(call.Args))!; }
                catch (System.Reflection.TargetInvocationException e) when (e.InnerException is not null) { throw e.InnerException; }
                var id = Guid.NewGuid().ToString("N");
                _streams[id] = StreamPump.Start(source, itemType, () =>
                {
                    Interlocked.Decrement(ref _ongoing);
                    Interlocked.Increment(ref _processed);
                });
                return new ReplicaReply { Status = ReplyStatus.Ok, Payload = MemoryPackSerializer.Serialize(id), Ongoing = Volatile.Read(ref _ongoing) };
            }
            catch (Exception e)
            {
                return Failure(e, Interlocked.Decrement(ref _ongoing));
            }
        });
    }

    /// <summary>The stream's next items (up to <paramref name="max"/>, waiting up to <paramref name="waitMs"/> for the first).</summary>
    public async Task<StreamChunk> NextAsync(string id, int max, int waitMs)
    {
        if (!_streams.TryGetValue(id, out var pump))
            return new StreamChunk { Done = true, ErrorType = typeof(InvalidOperationException).FullName, ErrorMessage = $"stream {id} is not on this replica (it ended, was cancelled, or went idle past {StreamPump.IdleLimit.TotalSeconds:0} s)" };
        var chunk = await pump.NextAsync(max, waitMs).ConfigureAwait(false);
        if (chunk.Done) _streams.TryRemove(id, out _);
        return chunk;
    }

    /// <summary>Stops a stream whose caller went away.</summary>
    public bool CancelStream(string id)
    {
        if (!_streams.TryRemove(id, out var pump)) return false;
        pump.Cancel();
        return true;
    }
}
