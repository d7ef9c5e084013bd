using System.IO.Pipelines;
using System.Net.Sockets;
using System.Threading.Channels;
using Ray.Protocol;

namespace Ray.Plasma.Server;

/// <summary>
/// One socket with a receive loop and a send loop. Outbound frames go through a single-reader
/// channel and are flushed once per batch; inbound frames are parsed by <see cref="FrameParser"/>
/// and handed to <see cref="OnFrame"/>. A malformed frame closes this connection only.
/// </summary>
internal abstract class FramedConnection : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly PipeReader _reader;
    private readonly PipeWriter _writer;
    private readonly Channel<OutFrame> _outbox = Channel.CreateUnbounded<OutFrame>(new UnboundedChannelOptions { SingleReader = true });
    private readonly FrameParser _parser;
    private Task? _sendLoop;
    private string _status = "created"; // breadcrumb for errors

    protected FramedConnection(Socket socket, int maxPayload)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
        // The pipes leave the stream open: it is disposed last, after both pipes completed.
        _reader = PipeReader.Create(_stream, new StreamPipeReaderOptions(leaveOpen: true));
        _writer = PipeWriter.Create(_stream, new StreamPipeWriterOptions(leaveOpen: true));
        _parser = new FrameParser(maxPayload);
    }

    /// <summary>Why the connection closed, once it has.</summary>
    internal string? CloseReason { get; private set; }

    internal string Status => _status;

    protected abstract void OnFrame(in Frame frame);

    protected virtual void OnClosed(string reason) { }

    internal bool Send(in OutFrame frame) => _outbox.Writer.TryWrite(frame);

    internal void Send(ushort kind, FrameFlags flags, ulong requestId, ReadOnlySpan<byte> payload) =>
        Send(OutFrame.Create(kind, flags, requestId, payload));

    /// <summary>Runs both loops until the peer goes away or sends garbage.</summary>
    internal async Task RunAsync()
    {
        _sendLoop = SendLoopAsync();
        var reason = "peer closed the connection";
        try
        {
            while (true)
            {
                _status = "reading";
                var result = await _reader.ReadAsync().ConfigureAwait(false);
                var buffer = result.Buffer;
                try
                {
                    _status = "parsing";
                    while (_parser.TryParseFrame(ref buffer, out var frame)) OnFrame(frame);
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
        catch (ProtocolException e) { reason = "protocol error: " + e.Message; }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException) { reason = "connection lost: " + e.Message; }
        catch (Exception e) { reason = $"internal error while {_status}: {e.GetType().Name}: {e.Message}"; } // never a zombie connection
        await CloseAsync(reason).ConfigureAwait(false);
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
    }

    internal async Task CloseAsync(string reason)
    {
        lock (_outbox)
        {
            if (CloseReason is not null) return;
            CloseReason = reason;
        }
        _status = "closed: " + reason;
        _outbox.Writer.TryComplete();
        OnClosed(reason);
        try { _socket.Shutdown(SocketShutdown.Both); } catch (SocketException) { } catch (ObjectDisposedException) { }
        if (_sendLoop is not null) { try { await _sendLoop.ConfigureAwait(false); } catch { /* already closing */ } }
        // Unsent bytes may remain buffered in the writer; completing must not throw for them.
        try { await _writer.CompleteAsync().ConfigureAwait(false); } catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or InvalidOperationException) { }
        try { await _reader.CompleteAsync().ConfigureAwait(false); } catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or InvalidOperationException) { }
        await _stream.DisposeAsync().ConfigureAwait(false);
    }

    public ValueTask DisposeAsync() => new(CloseAsync("closed locally"));
}
