using System.IO.Pipelines;
using System.Net.Sockets;
using System.Threading.Channels;
using Ray.Protocol;

namespace Ray.Protocol;

/// <summary>
/// One socket with a receive loop and a send loop, shared by the Plasma store, its clients and
/// the raylet. Outbound frames go through a single-reader channel and are flushed once per
/// batch; inbound frames are parsed by <see cref="FrameParser"/> and handed to
/// <see cref="OnFrame"/>. A malformed frame closes this connection only.
///
/// The payload limit can change on a live connection (small before a handshake, larger after),
/// and a close drains the outbox first, so an error reply queued just before a protocol error
/// reaches the peer before the FIN. When this side closes because
/// of bad input, it then reads and discards what the peer still sends for a moment ("lingering
/// close"): closing a socket with unread input sends a RST, which can destroy the error reply in
/// flight.
///
/// Lifecycle: 1. <see cref="RunAsync"/> starts the send loop and runs the receive loop.
/// 2. The receive loop ends on EOF, a socket error or a <see cref="ProtocolException"/>; or
/// <see cref="CloseAsync"/> from elsewhere shuts the socket down, which ends it.
/// 3. Close: outbox completed and drained (bounded), send side shut, socket shut; the receive
/// loop completes the reader and disposes the stream; <see cref="Completion"/> is set.
/// </summary>
internal abstract class FramedConnection
{
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan LingerTimeout = TimeSpan.FromMilliseconds(500);

    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly PipeReader _reader;
    private readonly PipeWriter _writer;
    private readonly Channel<OutFrame> _outbox = Channel.CreateUnbounded<OutFrame>(new UnboundedChannelOptions { SingleReader = true });
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly object _closeLock = new();
    private FrameParser _parser;
    private Task _sendLoop = Task.CompletedTask;
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile string _status = "created"; // breadcrumb for close reasons

    protected FramedConnection(Socket socket, int maxPayload)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
        // The pipes leave the stream open: it is disposed last, after both pipes completed.
        _reader = PipeReader.Create(_stream, new StreamPipeReaderOptions(leaveOpen: true));
        _writer = PipeWriter.Create(_stream, new StreamPipeWriterOptions(leaveOpen: true));
        _parser = new FrameParser(maxPayload);
    }

    /// <summary>Why the connection closed, once it has begun to close.</summary>
    internal string? CloseReason { get; private set; }

    /// <summary>What the receive loop was doing last.</summary>
    internal string Status => _status;

    /// <summary>Set when the connection is fully closed and its socket disposed.</summary>
    internal Task Completion => _completion.Task;

    /// <summary>True when bytes wait in the socket that the receive loop has not read yet.</summary>
    internal bool HasUnreadInput => SocketInput.HasUnread(_socket);

    /// <summary>The largest payload accepted from now on.</summary>
    protected int MaxPayload
    {
        get => _parser.MaxPayload;
        set => _parser = new FrameParser(value);
    }

    /// <summary>Handles one frame on the receive loop; throws <see cref="ProtocolException"/> to close.</summary>
    protected abstract void OnFrame(in Frame frame);

    /// <summary>Called once, when the connection begins to close.</summary>
    protected virtual void OnClosed(string reason) { }

    /// <summary>Queues a frame; false when the connection is closing (the frame is dropped).</summary>
    internal bool Send(ushort kind, FrameFlags flags, ulong requestId, ReadOnlySpan<byte> payload) =>
        Send(OutFrame.Create(kind, flags, requestId, payload));

    /// <summary>Queues a built frame; false when the connection is closing (the frame is dropped).</summary>
    internal bool Send(in OutFrame frame)
    {
        if (_outbox.Writer.TryWrite(frame)) return true;
        frame.Return();
        return false;
    }

    /// <summary>Runs both loops until the peer goes away, sends garbage or the connection is closed.</summary>
    internal async Task RunAsync()
    {
        _sendLoop = SendLoopAsync();
        var reason = "peer closed the connection";
        var badInput = false;
        try
        {
            while (CloseReason is null)
            {
                _status = "reading";
                var result = await _reader.ReadAsync().ConfigureAwait(false);
                var buffer = result.Buffer;
                try
                {
                    _status = "parsing";
                    while (CloseReason is null && _parser.TryParseFrame(ref buffer, out var frame)) OnFrame(frame);
                }
                finally
                {
                    _reader.AdvanceTo(buffer.Start, buffer.End);
                }
                if (result.IsCompleted)
                {
                    if (!buffer.IsEmpty) reason = $"peer closed mid-frame ({buffer.Length} bytes left)";
                    break;
                }
            }
        }
        catch (ProtocolException e) { reason = "protocol error: " + e.Message; badInput = true; }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException) { reason = "connection lost: " + e.Message; }
        catch (Exception e) { reason = $"internal error while {_status}: {e.GetType().Name}: {e.Message}"; badInput = true; } // never a zombie connection
        await BeginClose(reason, fromReceiveLoop: true).ConfigureAwait(false);
        if (badInput) await LingerAsync().ConfigureAwait(false);
        try { _socket.Shutdown(SocketShutdown.Both); } catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
        try { await _reader.CompleteAsync().ConfigureAwait(false); } catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or InvalidOperationException) { }
        await _stream.DisposeAsync().ConfigureAwait(false);
        _completion.TrySetResult();
    }

    /// <summary>
    /// Begins closing (once; later calls return the first close's task): no new frames, the
    /// queued ones are flushed (for at most two seconds), then the socket is shut down so the
    /// receive loop ends.
    /// </summary>
    internal Task CloseAsync(string reason) => BeginClose(reason, fromReceiveLoop: false);

    private Task BeginClose(string reason, bool fromReceiveLoop)
    {
        lock (_closeLock)
        {
            if (CloseReason is not null) return _closed.Task;
            CloseReason = reason;
            _status = "closed: " + reason;
        }
        return CloseCoreAsync(reason, fromReceiveLoop);
    }

    private async Task CloseCoreAsync(string reason, bool fromReceiveLoop)
    {
        try { await CloseStepsAsync(reason, fromReceiveLoop).ConfigureAwait(false); }
        finally { _closed.TrySetResult(); }
    }

    private async Task CloseStepsAsync(string reason, bool fromReceiveLoop)
    {
        _outbox.Writer.TryComplete();
        try { OnClosed(reason); }
        catch (Exception) { /* a close hook must not keep the socket open */ }
        try { await _sendLoop.WaitAsync(DrainTimeout).ConfigureAwait(false); }
        catch (TimeoutException) { /* the peer does not read: give up on the rest */ }
        catch (Exception) { /* already failing */ }
        try { _socket.Shutdown(SocketShutdown.Send); } catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
        // Unsent bytes may remain buffered in the writer; completing must not throw for them.
        try { await _writer.CompleteAsync().ConfigureAwait(false); } catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or InvalidOperationException) { }
        // Ends a receive loop blocked in ReadAsync when the close came from elsewhere.
        if (!fromReceiveLoop)
        {
            try { _socket.Shutdown(SocketShutdown.Receive); } catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
        }
    }

    /// <summary>Reads and drops the peer's remaining input for a moment, so the close is a FIN, not a RST.</summary>
    private async Task LingerAsync()
    {
        var sink = new byte[4096];
        using var cts = new CancellationTokenSource(LingerTimeout);
        try
        {
            var total = 0;
            while (total < 1 << 20)
            {
                var n = await _socket.ReceiveAsync(sink, SocketFlags.None, cts.Token).ConfigureAwait(false);
                if (n == 0) break;
                total += n;
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException) { }
    }

    private async Task SendLoopAsync()
    {
        var reader = _outbox.Reader;
        try
        {
            while (await reader.WaitToReadAsync().ConfigureAwait(false))
            {
                while (reader.TryRead(out var frame)) frame.WriteTo(_writer);
                var flush = await _writer.FlushAsync().ConfigureAwait(false);
                if (flush.IsCompleted) break;
            }
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or InvalidOperationException) { }
        finally
        {
            while (reader.TryRead(out var left)) left.Return();
        }
    }
}
