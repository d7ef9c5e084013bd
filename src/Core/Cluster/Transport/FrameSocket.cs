using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Net.Sockets;
using Ray.Protocol;

namespace Ray.Cluster.Transport;

/// <summary>
/// A framed socket built for the per-task path between a driver and its workers, where a round
/// trip is a handful of microseconds and a thread wake-up costs tens of them here.
///
/// Receive: a dedicated thread reads into a <see cref="Pipe"/> and parses frames in place
/// (<c>Receive -> TryRead -> TryParseFrame -> AdvanceTo</c>), calling <see cref="OnFrame"/> for each
/// and <see cref="OnBatchEnd"/> once per read. Before it blocks in the kernel it spins for a
/// bounded time watching the socket, so a reply that is on its way is taken without a wake-up.
///
/// Send: frames are appended to a buffer under a lock and written by whoever calls
/// <see cref="Flush"/> (the submitting thread itself: no hand-off to a send thread). Callers batch
/// by appending several frames before one flush.
///
/// Bad input (a malformed or oversized frame) closes this connection with a reason; nothing else.
/// </summary>
internal abstract class FrameSocket : IDisposable
{
    private readonly Socket _socket;
    private readonly Pipe _pipe = new(new PipeOptions(pauseWriterThreshold: 0, resumeWriterThreshold: 0, useSynchronizationContext: false, minimumSegmentSize: 64 * 1024));
    private FrameParser _parser;
    private readonly GrowableBuffer _out = new(64 * 1024);
    private readonly object _sendLock = new();
    private readonly long _spinTicks;
    private readonly Thread _thread;
    private volatile string? _closeReason;
    private int _closed;

    protected FrameSocket(Socket socket, int maxPayload, TimeSpan spin, string threadName)
    {
        _socket = socket;
        _parser = new FrameParser(maxPayload);
        _spinTicks = (long)(spin.TotalSeconds * Stopwatch.Frequency);
        _thread = new Thread(ReceiveLoop) { IsBackground = true, Name = threadName };
    }

    /// <summary>Why the connection closed, once it has.</summary>
    internal string? CloseReason => _closeReason;

    internal bool IsClosed => _closeReason is not null;

    /// <summary>True when bytes wait in the socket that the receive thread has not read yet.</summary>
    internal bool HasUnreadInput => SocketInput.HasUnread(_socket);

    /// <summary>Changes the largest payload accepted from now on (on the receive thread, e.g. after a handshake).</summary>
    protected void SetMaxPayload(int maxPayload) => _parser = new FrameParser(maxPayload);

    /// <summary>Starts the receive thread.</summary>
    protected void StartReceiving() => _thread.Start();

    /// <summary>Handles one frame on the receive thread; throw <see cref="ProtocolException"/> to close.</summary>
    protected abstract void OnFrame(in Frame frame);

    /// <summary>Called after the frames of one read were handled (a good moment to flush replies).</summary>
    protected virtual void OnBatchEnd() { }

    /// <summary>Called once when the connection closes (peer gone, bad input, or <see cref="Close"/>).</summary>
    protected abstract void OnClosed(string reason);

    /// <summary>Appends a frame with a payload written by <paramref name="write"/>; call <see cref="Flush"/> (or FlushLocked) after.</summary>
    internal void Append<TState>(ushort kind, FrameFlags flags, ulong requestId, TState state, Action<WireWriter, TState> write)
    {
        lock (_sendLock) AppendLocked(kind, flags, requestId, state, write);
    }

    /// <summary>Appends under the send lock the caller already holds (see <see cref="SendLock"/>).</summary>
    protected void AppendLocked<TState>(ushort kind, FrameFlags flags, ulong requestId, TState state, Action<WireWriter, TState> write)
    {
        var start = _out.Count;
        _out.GetSpan(FrameHeader.Size);
        _out.Advance(FrameHeader.Size);
        try { write(new WireWriter(_out), state); }
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

    /// <summary>Writes everything appended so far.</summary>
    internal void Flush()
    {
        lock (_sendLock) FlushLocked();
    }

    /// <summary>Writes everything appended so far; the caller holds the send lock.</summary>
    protected void FlushLocked()
    {
        if (_out.Count == 0) return;
        ReadOnlySpan<byte> data = _out.Written;
        try
        {
            while (!data.IsEmpty)
            {
                var n = _socket.Send(data, SocketFlags.None);
                data = data[n..];
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            _out.Reset();
            Close("sending failed: " + e.Message);
            return;
        }
        _out.Reset();
    }

    // The right to read and parse: the receive thread's, or a waiting caller's that helps
    // (see TryHelpReceive). Only its holder touches the pipe and the parser.
    private int _readToken;
    private int _helpers;

    /// <summary>
    /// Lets a thread that waits for a reply on this connection read it itself instead of being
    /// woken by the receive thread: one hand-off less per round trip, which is most of a sync
    /// call's latency on a small machine. The receive thread then waits for input with a poll
    /// (not a read), so whoever is running takes the bytes.
    /// </summary>
    protected bool AllowHelpers { get; set; }

    private void ReceiveLoop()
    {
        var reason = "peer closed the connection";
        try
        {
            while (_closeReason is null)
            {
                if (!AllowHelpers)
                {
                    SpinForInput();
                    if (!ReadOnce()) break;
                    continue;
                }
                // A helper is spinning for its reply: leave the CPU to it and wait in the kernel.
                if (Volatile.Read(ref _helpers) == 0) SpinForInput();
                if (_socket.Available == 0) _socket.Poll(-1, SelectMode.SelectRead);
                if (Interlocked.CompareExchange(ref _readToken, 1, 0) != 0)
                {
                    // A helper is reading: give it the CPU until it is done.
                    var sw = new SpinWait();
                    while (Volatile.Read(ref _readToken) != 0 && _closeReason is null) sw.SpinOnce();
                    continue;
                }
                try
                {
                    // Readable with nothing available is the end of the stream (or a helper took the bytes: look again).
                    if (_socket.Available == 0 && !_socket.Poll(0, SelectMode.SelectRead)) continue;
                    if (!ReadOnce()) break;
                }
                finally { Volatile.Write(ref _readToken, 0); }
            }
        }
        catch (ProtocolException e) { reason = "protocol error: " + e.Message; }
        catch (Exception e) when (e is SocketException or ObjectDisposedException) { reason = "connection lost: " + e.Message; }
        catch (Exception e) { reason = $"internal error: {e.GetType().Name}: {e.Message}"; }
        Close(_closeReason ?? reason);
        // Wait out a helper still reading, then only this thread touches the pipe again.
        var wait = new SpinWait();
        while (Interlocked.CompareExchange(ref _readToken, 1, 0) != 0) wait.SpinOnce();
        _pipe.Writer.Complete();
        _pipe.Reader.Complete();
        _socket.Dispose();
    }

    /// <summary>Reads what is there (or blocks for it) and handles every whole frame; false at the end of the stream.</summary>
    private bool ReadOnce()
    {
        var writer = _pipe.Writer;
        var reader = _pipe.Reader;
        var memory = writer.GetMemory(64 * 1024);
        var n = _socket.Receive(memory.Span, SocketFlags.None); // a helper calls this only with bytes available, so it does not block
        if (n == 0) return false;
        writer.Advance(n);
        _ = writer.FlushAsync(); // never pauses (no threshold): completes synchronously
        if (!reader.TryRead(out var result)) return true;
        var buffer = result.Buffer;
        var outer = t_receiving;
        t_receiving = true;
        try
        {
            try
            {
                while (_parser.TryParseFrame(ref buffer, out var frame)) OnFrame(frame);
            }
            finally { reader.AdvanceTo(buffer.Start, buffer.End); }
            OnBatchEnd();
        }
        finally { t_receiving = outer; }
        return true;
    }

    [ThreadStatic] private static bool t_receiving;

    /// <summary>
    /// True while this thread handles received frames (a receive thread, or a caller helping):
    /// it must not block on a socket write or a send lock, or the peer, blocked writing to us,
    /// and we would wait for each other. Work that would send is handed to the thread pool.
    /// </summary>
    internal static bool InReceiveContext => t_receiving;

    /// <summary>
    /// Called by a thread waiting for a reply on this connection: if nobody is reading, reads and
    /// handles what has arrived. Never blocks. Errors close the connection (the receive thread
    /// reports them); the caller keeps waiting as usual.
    /// </summary>
    internal void TryHelpReceive()
    {
        if (!AllowHelpers || _closeReason is not null) return;
        if (Interlocked.CompareExchange(ref _readToken, 1, 0) != 0) return;
        try
        {
            if (_closeReason is null && _socket.Available > 0) ReadOnce();
        }
        catch (ProtocolException e) { Close("protocol error: " + e.Message); }
        catch (Exception e) when (e is SocketException or ObjectDisposedException) { Close("connection lost: " + e.Message); }
        catch (Exception e) { Close($"internal error: {e.GetType().Name}: {e.Message}"); } // never into the user's Get
        finally { Volatile.Write(ref _readToken, 0); }
    }

    /// <summary>A waiting caller announces itself (the receive thread then stops spinning), and leaves.</summary>
    internal void EnterHelper() => Interlocked.Increment(ref _helpers);

    internal void ExitHelper() => Interlocked.Decrement(ref _helpers);

    // A reply usually arrives within microseconds of a request: watch for it before sleeping in
    // the kernel, which would cost a wake-up (tens of microseconds on these VMs).
    private void SpinForInput()
    {
        if (_spinTicks <= 0) return;
        var start = Stopwatch.GetTimestamp();
        var sw = new SpinWait();
        try
        {
            while (_socket.Available == 0 && Stopwatch.GetTimestamp() - start < _spinTicks && _closeReason is null)
                sw.SpinOnce(sleep1Threshold: -1);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException) { /* Receive reports it */ }
    }

    /// <summary>Closes the connection (once); the receive thread ends and <see cref="OnClosed"/> runs.</summary>
    internal void Close(string reason)
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0) return;
        _closeReason = reason;
        try { _socket.Shutdown(SocketShutdown.Both); } catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
        OnClosed(reason);
        if (!_thread.IsAlive) _socket.Dispose(); // never started receiving
    }

    /// <inheritdoc />
    public void Dispose() => Close("closed locally");
}
