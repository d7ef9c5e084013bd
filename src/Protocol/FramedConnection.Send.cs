using System.Net.Sockets;
using System.Threading.Channels;

namespace Ray.Protocol;

/// <summary>The send side of <see cref="FramedConnection"/>: the caller's buffer, the outbox and its loop.</summary>
internal abstract partial class FramedConnection
{
    // Caller sends: frames appended under the send lock, written by whoever flushes.
    private readonly object _sendLock = new();
    private readonly GrowableBuffer _out;

    // Outbox sends: queued without blocking, written by one send loop started at the first.
    private readonly Channel<OutFrame> _outbox = Channel.CreateUnbounded<OutFrame>(new UnboundedChannelOptions { SingleReader = true });
    private Task? _sendLoop;

    // 1 while someone writes to the socket, so a caller's flush and the send loop never
    // interleave their bytes. A flag, not a semaphore: it is taken on every flush of the
    // per-task path, where a semaphore's lock costs more than this whole gate; it is contended
    // only by a connection that uses both send paths at once.
    private int _wire;

    /// <summary>Appends a frame with a payload written by <paramref name="write"/>; call <see cref="Flush"/> (or FlushLocked) after.</summary>
    internal void Append<TState>(ushort kind, FrameFlags flags, ulong requestId, TState state, Action<PayloadWriter, TState> write)
    {
        lock (_sendLock) AppendLocked(kind, flags, requestId, state, write);
    }

    /// <summary>Appends under the send lock the caller already holds (see <see cref="SendLock"/>).</summary>
    protected void AppendLocked<TState>(ushort kind, FrameFlags flags, ulong requestId, TState state, Action<PayloadWriter, TState> write)
    {
        var start = _out.Count;
        _out.GetSpan(FrameHeader.Size);
        _out.Advance(FrameHeader.Size);
        try { write(new PayloadWriter(_out), state); }
        catch
        {
            _out.Truncate(start); // never a half-written frame on the wire
            throw;
        }
        var length = _out.Count - start - FrameHeader.Size;
        // The header goes in front once the payload's length is known (the buffer is contiguous).
        new FrameHeader(length, kind, flags, requestId).Write(_out.Written.Slice(start, FrameHeader.Size));
    }

    /// <summary>The lock that guards the send buffer, for callers that append and decide about flushing atomically.</summary>
    protected object SendLock => _sendLock;

    /// <summary>Bytes appended and not yet flushed (under the send lock).</summary>
    protected int PendingBytes => _out.Count;

    /// <summary>Writes everything appended so far, on this thread (blocks while the peer does not read).</summary>
    internal void Flush()
    {
        lock (_sendLock) FlushLocked();
    }

    /// <summary>Writes everything appended so far; the caller holds the send lock. A failed write closes the connection.</summary>
    protected void FlushLocked()
    {
        if (_out.Count == 0) return;
        string? failure = null;
        EnterWire();
        try { WriteAll(_out.Written); }
        catch (Exception e) when (e is SocketException or ObjectDisposedException) { failure = "sending failed: " + e.Message; }
        finally
        {
            ExitWire();
            _out.Reset();
        }
        if (failure is not null) Close(failure); // after the wire is free: a close hook may flush
    }

    private void EnterWire()
    {
        if (Interlocked.CompareExchange(ref _wire, 1, 0) == 0) return;
        var wait = new SpinWait(); // sleeps after a while: the send loop may hold it for a slow peer
        while (Interlocked.CompareExchange(ref _wire, 1, 0) != 0) wait.SpinOnce();
    }

    private async ValueTask EnterWireAsync()
    {
        // A caller holds it only while its blocking write runs: poll, never hold a thread.
        while (Interlocked.CompareExchange(ref _wire, 1, 0) != 0) await Task.Delay(1).ConfigureAwait(false);
    }

    private void ExitWire() => Volatile.Write(ref _wire, 0);

    private void WriteAll(ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty) data = data[_socket.Send(data, SocketFlags.None)..];
    }

    /// <summary>Queues a frame for the send loop; false when the connection is closing (the frame is dropped). Never blocks.</summary>
    internal bool Send(ushort kind, FrameFlags flags, ulong requestId, ReadOnlySpan<byte> payload) =>
        Send(OutFrame.Create(kind, flags, requestId, payload));

    /// <summary>Queues a built frame; false when the connection is closing (the frame is dropped).</summary>
    internal bool Send(in OutFrame frame)
    {
        // Fast path: nothing of the outbox is still unwritten and the socket can take a small
        // frame now: write it on this thread. Waking the send loop costs a thread-pool hop
        // (tens of microseconds on a loaded 2-core VM) on every reply of a request/response
        // conversation (the raylet's control messages); a frame is never written ahead of one
        // queued before it (the count covers frames the loop has taken but not yet written).
        if (frame.Length <= InlineSendLimit && Volatile.Read(ref _unwritten) == 0 && TrySendInline(frame, out var written)) return written;
        Interlocked.Increment(ref _unwritten);
        if (!_outbox.Writer.TryWrite(frame))
        {
            Interlocked.Decrement(ref _unwritten);
            frame.Return();
            return false;
        }
        if (Volatile.Read(ref _sendLoop) is null)
        {
            lock (_closeLock) _sendLoop ??= SendLoopAsync();
        }
        return true;
    }

    // Frames in the outbox (or taken by the send loop) and not yet written.
    private int _unwritten;

    // Well below the kernel's send low-water mark: a writable socket takes it without blocking.
    private const int InlineSendLimit = 2048;

    // True when the frame was dealt with here (<paramref name="written"/>: on the wire, or
    // dropped because the connection is closing); false to go through the outbox.
    private bool TrySendInline(in OutFrame frame, out bool written)
    {
        written = false;
        if (Interlocked.CompareExchange(ref _wire, 1, 0) != 0) return false;
        string? failure = null;
        try
        {
            if (_closeReason is not null) // closing: the outbox takes nothing more either
            {
                frame.Return();
                return true;
            }
            if (Volatile.Read(ref _unwritten) != 0 || !_socket.Poll(0, SelectMode.SelectWrite)) return false;
            Span<byte> bytes = stackalloc byte[FrameHeader.Size + InlineSendLimit];
            var length = frame.CopyTo(bytes);
            WriteAll(bytes[..length]);
            frame.Return();
            written = true;
            return true;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            failure = "sending failed: " + e.Message;
            frame.Return();
            return true; // dropped with the connection
        }
        finally
        {
            ExitWire();
            // Closed off this thread: a caller may hold a lock its close hooks take again (the
            // raylet answers under its lease manager's lock; a close ends the driver's job).
            if (failure is not null) ThreadPool.UnsafeQueueUserWorkItem(static s => s.Connection.Close(s.Failure), (Connection: this, Failure: failure), preferLocal: false);
        }
    }

    /// <summary>Lets the outbox take no more frames; the task completes when the send loop has written (or dropped) the rest.</summary>
    private Task CompleteOutbox()
    {
        _outbox.Writer.TryComplete();
        lock (_closeLock) return _sendLoop ?? Task.CompletedTask;
    }

    private async Task SendLoopAsync()
    {
        await Task.Yield(); // never run the loop on the first sender's thread
        var reader = _outbox.Reader;
        var batch = new GrowableBuffer(4096);
        try
        {
            while (await reader.WaitToReadAsync().ConfigureAwait(false))
            {
                var taken = 0;
                while (reader.TryRead(out var frame))
                {
                    frame.WriteTo(batch);
                    taken++;
                }
                await EnterWireAsync().ConfigureAwait(false);
                try
                {
                    for (var sent = 0; sent < batch.Count;)
                        sent += await _socket.SendAsync(batch.WrittenMemory[sent..], SocketFlags.None).ConfigureAwait(false);
                }
                finally
                {
                    ExitWire();
                    batch.Reset();
                    Interlocked.Add(ref _unwritten, -taken);
                }
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            Close("sending failed: " + e.Message);
        }
        finally
        {
            while (reader.TryRead(out var left)) left.Return();
        }
    }
}
