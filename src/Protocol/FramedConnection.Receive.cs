using System.Diagnostics;
using System.Net.Sockets;

namespace Ray.Protocol;

/// <summary>The receive side of <see cref="FramedConnection"/>: the two drivers, parsing, and helper receive.</summary>
internal abstract partial class FramedConnection
{
    // Bytes left in the pipe after the last parse: a frame cut by the end of the stream.
    private long _unparsed;

    // The right to read and parse: the receive thread's, or a waiting caller's that helps (see
    // TryHelpReceive). Only its holder touches the pipe and the parser.
    private int _readToken;
    private int _helpers;
    private bool _allowHelpers;

    [ThreadStatic] private static bool t_receiving;

    /// <summary>
    /// True while this thread handles received frames (a receiver, or a caller helping): it must
    /// not block on a socket write or a send lock, or the peer, blocked writing to us, and we
    /// would wait for each other. Work that would send is handed to the thread pool.
    /// </summary>
    internal static bool InReceiveContext => t_receiving;

    /// <summary>
    /// Lets a thread that waits for a reply on this connection read it itself instead of being
    /// woken by the receive thread: one hand-off less per round trip, which is most of a sync
    /// call's latency on a small machine. The receive thread then waits for input with a poll
    /// (not a read), so whoever is running takes the bytes. Only with a receive thread.
    /// </summary>
    protected bool AllowHelpers
    {
        get => _allowHelpers;
        set
        {
            if (value && !_driver.IsThread) throw new InvalidOperationException("helper receive needs a receive thread (ReceiveDriver.Thread)");
            _allowHelpers = value;
        }
    }

    private async Task ReceiveLoopAsync()
    {
        var (reason, badInput) = ("peer closed the connection", false);
        try
        {
            while (_closeReason is null)
            {
                _status = "reading";
                var n = await _socket.ReceiveAsync(_pipe.Writer.GetMemory(_driver.ReadSize), SocketFlags.None).ConfigureAwait(false);
                if (n == 0)
                {
                    reason = EndOfStream();
                    break;
                }
                _status = "parsing";
                Received(n);
            }
        }
        catch (Exception e) { (reason, badInput) = Failure(e); }
        await EndReceivingAsync(reason, badInput).ConfigureAwait(false);
    }

    private void ReceiveThread()
    {
        var (reason, badInput) = ("peer closed the connection", false);
        try
        {
            while (_closeReason is null)
            {
                if (!_allowHelpers)
                {
                    SpinForInput();
                    if (ReadOnce()) continue;
                    reason = EndOfStream();
                    break;
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
                    if (ReadOnce()) continue;
                    reason = EndOfStream();
                    break;
                }
                finally { Volatile.Write(ref _readToken, 0); }
            }
        }
        catch (Exception e) { (reason, badInput) = Failure(e); }
        // Wait out a helper still reading; then only this thread touches the pipe again.
        var wait = new SpinWait();
        while (Interlocked.CompareExchange(ref _readToken, 1, 0) != 0) wait.SpinOnce();
        EndReceiving(reason, badInput);
    }

    /// <summary>Reads what is there (or blocks for it) and handles every whole frame; false at the end of the stream.</summary>
    private bool ReadOnce()
    {
        _status = "reading";
        var n = _socket.Receive(_pipe.Writer.GetMemory(_driver.ReadSize).Span, SocketFlags.None); // a helper calls this only with bytes available, so it does not block
        if (n == 0) return false;
        _status = "parsing";
        Received(n);
        return true;
    }

    /// <summary>Hands the <paramref name="count"/> bytes just read to the parser, and each whole frame to <see cref="OnFrame"/>.</summary>
    private void Received(int count)
    {
        var writer = _pipe.Writer;
        var reader = _pipe.Reader;
        writer.Advance(count);
        _ = writer.FlushAsync(); // never pauses (no threshold): completes synchronously
        if (!reader.TryRead(out var result)) return;
        var buffer = result.Buffer;
        var outer = t_receiving;
        t_receiving = true;
        try
        {
            try
            {
                while (_closeReason is null && _parser.TryParseFrame(ref buffer, out var frame)) OnFrame(frame);
            }
            finally
            {
                _unparsed = buffer.Length;
                reader.AdvanceTo(buffer.Start, buffer.End);
            }
            OnBatchEnd();
        }
        finally { t_receiving = outer; }
    }

    private string EndOfStream() =>
        _unparsed > 0 ? $"peer closed mid-frame ({_unparsed} bytes left)" : "peer closed the connection";

    /// <summary>The close reason for what ended a receiver, and whether it was the peer's bad input (then the close lingers).</summary>
    private (string Reason, bool BadInput) Failure(Exception e) => e switch
    {
        ProtocolException => ("protocol error: " + e.Message, true),
        IOException or SocketException or ObjectDisposedException => ("connection lost: " + e.Message, false),
        // Never a zombie connection: a fault handling a frame closes it like bad input.
        _ => ($"internal error while {_status}: {e.GetType().Name}: {e.Message}", true),
    };

    /// <summary>
    /// Called by a thread waiting for a reply on this connection: if nobody is reading, reads and
    /// handles what has arrived. Never blocks. Errors close the connection at once (no
    /// lingering: helpers wait on clients, which send no error replies); the caller keeps
    /// waiting as usual and learns of the close through its reply.
    /// </summary>
    internal void TryHelpReceive()
    {
        if (!_allowHelpers || _closeReason is not null) return;
        if (Interlocked.CompareExchange(ref _readToken, 1, 0) != 0) return;
        try
        {
            if (_closeReason is null && _socket.Available > 0) ReadOnce();
        }
        catch (Exception e) { Close(Failure(e).Reason); } // never into the caller's wait
        finally { Volatile.Write(ref _readToken, 0); }
    }

    /// <summary>A waiting caller announces itself (the receive thread then stops spinning).</summary>
    internal void EnterHelper() => Interlocked.Increment(ref _helpers);

    /// <summary>A waiting caller leaves (see <see cref="EnterHelper"/>).</summary>
    internal void ExitHelper() => Interlocked.Decrement(ref _helpers);

    // A reply usually arrives within microseconds of a request: watch for it before sleeping in
    // the kernel, which would cost a wake-up (tens of microseconds on these VMs).
    private void SpinForInput()
    {
        var spinTicks = _driver.SpinTicks;
        if (spinTicks <= 0) return;
        var start = Stopwatch.GetTimestamp();
        var sw = new SpinWait();
        try
        {
            while (_socket.Available == 0 && Stopwatch.GetTimestamp() - start < spinTicks && _closeReason is null)
                sw.SpinOnce(sleep1Threshold: -1);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException) { /* Receive reports it */ }
    }
}
