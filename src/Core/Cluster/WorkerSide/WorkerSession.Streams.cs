using System.Collections.Concurrent;
using Ray.Cluster.Wire;
using Ray.Protocol;

namespace Ray.Cluster.WorkerSide;

/// <summary>
/// Streaming calls of a session. A generator may pause (back-pressure) until the driver's
/// StreamAck comes, and only the receive thread reads it, so a streaming call runs on a side
/// thread of the session; frames that arrive meanwhile (later tasks and actor calls) queue
/// behind it and run on that thread afterwards, in arrival order, so the one-at-a-time order
/// of a lease or an actor is kept. StreamAck frames never queue: the receive thread applies them.
/// </summary>
internal sealed partial class WorkerSession
{
    private readonly ConcurrentDictionary<ulong, WorkerStream> _streams = new();
    private readonly object _sideLock = new();
    private readonly HashSet<ulong> _stoppedEarly = new(); // stops for streams still queued (under _sideLock)
    private Queue<(FrameHeader Header, byte[] Payload)>? _side; // non-null while the side thread runs this session's frames
    [ThreadStatic] private static bool t_onSide;

    /// <summary>Bytes appended and not yet flushed (a hint for batching item frames).</summary>
    internal int PendingSendBytes => PendingBytes;

    // Receive thread: a frame that must wait for the streaming call running on the side thread.
    private bool TryQueueBehindStream(in FrameHeader h, ReadOnlySpan<byte> payload)
    {
        if (Volatile.Read(ref _side) is null) return false; // only this thread makes it non-null
        lock (_sideLock)
        {
            if (_side is null) return false;
            _side.Enqueue((h, payload.ToArray()));
            return true;
        }
    }

    private void OnStreamAck(in FrameHeader h, ReadOnlySpan<byte> p)
    {
        var off = 0;
        var value = (long)ValueWire.ReadU64(p, ref off);
        if (off != p.Length || value < StreamWire.Stop) throw new ProtocolException($"malformed StreamAck ({p.Length} bytes, value {value})");
        if (_streams.TryGetValue(h.RequestId, out var stream))
        {
            stream.OnAck(value);
            return;
        }
        // A stop for a call still queued behind another stream: it must not start. Anything else
        // is about a call that already ended.
        if (value == StreamWire.Stop)
            lock (_sideLock) if (_side is not null) _stoppedEarly.Add(h.RequestId);
    }

    private void StopAllStreams()
    {
        foreach (var s in _streams.Values) s.OnAck(StreamWire.Stop);
    }

    private void StartStream(in FrameHeader h, WorkerFunction fn, WorkerCall call, object? actor, StreamWire.Spec spec)
    {
        if (fn.Stream is null)
        {
            ReplyError(h.Kind, h.RequestId, TaskWire.SystemError,
                new NotSupportedException($"{fn.Name} returns {fn.ResultType.Name}, not an IEnumerable<T> or IAsyncEnumerable<T>: it cannot be called as a stream"));
            return;
        }
        var stream = new WorkerStream(this, h.RequestId, spec, _runtime);
        _streams[h.RequestId] = stream;
        lock (_sideLock)
            if (_stoppedEarly.Remove(h.RequestId)) stream.OnAck(StreamWire.Stop);
        var kind = h.Kind;
        if (t_onSide)
        {
            RunStream(kind, fn, call, actor, stream);
            return;
        }
        lock (_sideLock) _side = new Queue<(FrameHeader, byte[])>();
        new Thread(() => SideLoop(kind, fn, call, actor, stream)) { IsBackground = true, Name = "ray-worker-stream" }.Start();
    }

    private void SideLoop(ushort kind, WorkerFunction fn, WorkerCall call, object? actor, WorkerStream first)
    {
        t_onSide = true;
        try
        {
            RunStream(kind, fn, call, actor, first);
            while (true)
            {
                (FrameHeader Header, byte[] Payload) next;
                lock (_sideLock)
                {
                    if (_side!.Count == 0)
                    {
                        _side = null;
                        _stoppedEarly.Clear();
                        return;
                    }
                    next = _side.Dequeue();
                }
                Dispatch(next.Header, next.Payload);
                Flush();
            }
        }
        catch (Exception e) // a protocol error in a queued frame closes the connection, as on the receive thread
        {
            lock (_sideLock) _side = null;
            Close(e is ProtocolException ? e.Message : "a streaming call's thread failed: " + e.Message);
        }
        finally { t_onSide = false; }
    }

    // Runs the generator to its end (or a stop), then replies: Unit, or the error that ended it.
    private void RunStream(ushort kind, WorkerFunction fn, WorkerCall call, object? actor, WorkerStream stream)
    {
        // A sync actor runs one call at a time, whichever session sent it: the whole stream is one call.
        var actorLock = actor is null || _host.ActorExecutor is not null ? null : _host.ActorLock;
        if (actorLock is not null) Monitor.Enter(actorLock);
        t_inTask = true;
        if (actor is null) Logs.WorkerLogCapture.Enter(fn.Name);
        try
        {
            try { fn.Stream!.Drain(fn.Invoke(call), stream); }
            catch (StreamItemException e)
            {
                ReplyError(kind, stream.RequestId, TaskWire.SystemError, e.InnerException!);
                return;
            }
            catch (Exception e) when (e is not ProtocolException)
            {
                Logs.WorkerLogCapture.Failed(fn.Name, e);
                ReplyError(kind, stream.RequestId, TaskWire.UserError, e);
                return;
            }
            Append(kind, FrameFlags.Reply, stream.RequestId, 0, static (w, _) => { w.U8(TaskWire.Ok); ValueWire.WriteDirect(w, Unit.Value); });
        }
        finally
        {
            t_inTask = false;
            Logs.WorkerLogCapture.Leave();
            if (actorLock is not null) Monitor.Exit(actorLock);
            _streams.TryRemove(stream.RequestId, out _);
            Flush();
        }
    }
}

/// <summary>An item could not be stored or sent (not user code's error): the call fails as a system error.</summary>
internal sealed class StreamItemException(Exception inner) : Exception(inner.Message, inner);
