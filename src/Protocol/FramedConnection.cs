using System.IO.Pipelines;
using System.Net.Sockets;

namespace Ray.Protocol;

/// <summary>
/// The one framed connection of the runtime: every socket that speaks the 16-byte frames (the
/// Plasma store and its clients, the raylet and its clients, a driver's workers and control
/// link, a worker's sessions) is one of these. It holds the framing, the payload limit, and the
/// close semantics; subclasses hold the protocol (<see cref="OnFrame"/>).
///
/// Receive (<see cref="ReceiveDriver"/>, chosen at construction): an async loop, or a dedicated
/// thread that spins before it blocks and lets a waiting caller read its own reply
/// (<see cref="TryHelpReceive"/>). Either way bytes go into a <see cref="Pipe"/>, are parsed in
/// place by <see cref="FrameParser"/>, each frame goes to <see cref="OnFrame"/> and each read
/// ends with <see cref="OnBatchEnd"/>.
///
/// Send, two ways that can be mixed (the socket is written by one of them at a time):
/// by the caller (<see cref="Append{TState}"/> then <see cref="Flush"/>, under a lock, on the
/// caller's thread: no hand-off on the per-task path), or through an outbox
/// (<see cref="Send(ushort, FrameFlags, ulong, ReadOnlySpan{byte})"/>: never blocks; a send loop
/// writes batches asynchronously, so a server never holds a thread for a peer that does not read).
///
/// Lifecycle: 1. <see cref="StartReceiving"/> (or <see cref="RunAsync"/>) starts the receiver.
/// 2. It ends on EOF, a socket error or bad input (a <see cref="ProtocolException"/>: a malformed
/// or oversized frame, or what the subclass refuses); or <see cref="Close"/> from elsewhere ends
/// it. 3. Closing (once, with a reason): no new frames; <see cref="OnClosed"/> runs; the outbox is
/// flushed (for at most two seconds) so an error reply queued before a protocol error reaches the
/// peer before the FIN; the send side is shut. After bad input the receiver then reads and drops
/// what the peer still sends for a moment ("lingering close": closing a socket with unread input
/// sends a RST, which can destroy the error reply in flight). 4. The socket is disposed and
/// <see cref="Completion"/> is set.
/// </summary>
internal abstract partial class FramedConnection : IDisposable
{
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan LingerTimeout = TimeSpan.FromMilliseconds(500);
    private const int LingerMaxBytes = 1 << 20;

    private readonly Socket _socket;
    private readonly ReceiveDriver _driver;
    private readonly Pipe _pipe;
    private FrameParser _parser;
    private readonly object _closeLock = new();
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile string? _closeReason;
    private volatile string _status = "created"; // breadcrumb for timeouts and close reasons
    private int _started;

    /// <summary>A connection with an async receive loop.</summary>
    protected FramedConnection(Socket socket, int maxPayload) : this(socket, maxPayload, ReceiveDriver.Async) { }

    /// <summary>A connection that receives the way <paramref name="driver"/> says; it owns <paramref name="socket"/> from now on.</summary>
    protected FramedConnection(Socket socket, int maxPayload, ReceiveDriver driver)
    {
        _socket = socket;
        _driver = driver;
        _parser = new FrameParser(maxPayload);
        _pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 0, resumeWriterThreshold: 0, useSynchronizationContext: false, minimumSegmentSize: driver.ReadSize));
        _out = new GrowableBuffer(driver.IsThread ? 64 * 1024 : 256); // servers send through the outbox: keep this small per connection
    }

    /// <summary>Why the connection closed, once it has begun to close.</summary>
    internal string? CloseReason => _closeReason;

    /// <summary>True once the connection has begun to close.</summary>
    internal bool IsClosed => _closeReason is not null;

    /// <summary>What the receiver was doing last (for timeout messages).</summary>
    internal string Status => _status;

    /// <summary>Set when the connection is fully closed and its socket disposed.</summary>
    internal Task Completion => _completion.Task;

    /// <summary>True when bytes wait in the socket that the receiver has not read yet.</summary>
    internal bool HasUnreadInput => SocketInput.HasUnread(_socket);

    /// <summary>The largest payload accepted from now on (raise it on the receiver, e.g. after a handshake: frames already buffered behind it get the new limit).</summary>
    protected int MaxPayload
    {
        get => _parser.MaxPayload;
        set => _parser = new FrameParser(value);
    }

    /// <summary>Handles one frame on the receiver; throw <see cref="ProtocolException"/> to close for bad input.</summary>
    protected abstract void OnFrame(in Frame frame);

    /// <summary>Called after the frames of one read were handled (a good moment to flush replies).</summary>
    protected virtual void OnBatchEnd() { }

    /// <summary>Called once, when the connection begins to close (peer gone, bad input, or <see cref="Close"/>).</summary>
    protected virtual void OnClosed(string reason) { }

    /// <summary>Starts receiving (once).</summary>
    protected void StartReceiving()
    {
        if (Interlocked.Exchange(ref _started, 1) != 0) return;
        if (_driver.IsThread) new Thread(ReceiveThread) { IsBackground = true, Name = _driver.ThreadName }.Start();
        else _ = ReceiveLoopAsync();
    }

    /// <summary>Starts receiving; the task is <see cref="Completion"/>.</summary>
    internal Task RunAsync()
    {
        StartReceiving();
        return Completion;
    }

    /// <summary>
    /// Begins closing (once; later calls do nothing): <see cref="OnClosed"/> runs before this
    /// returns; queued frames are flushed, then the socket is shut down, which ends the receiver.
    /// </summary>
    internal void Close(string reason) => _ = BeginClose(reason, fromReceiver: false);

    /// <summary>Begins closing, as <see cref="Close"/>; the task completes once the outbox is flushed and the socket shut (the first close's task for later calls).</summary>
    internal Task CloseAsync(string reason) => BeginClose(reason, fromReceiver: false);

    /// <inheritdoc />
    public void Dispose() => Close("closed locally");

    private Task BeginClose(string reason, bool fromReceiver)
    {
        lock (_closeLock)
        {
            if (_closeReason is not null) return _closed.Task;
            _closeReason = reason;
            _status = "closed: " + reason;
        }
        var drained = CompleteOutbox();
        try { OnClosed(reason); }
        catch (Exception) { /* a close hook must not keep the socket open */ }
        if (drained.IsCompleted) EndSending(fromReceiver);
        else _ = EndSendingAfterAsync(drained, fromReceiver);
        return _closed.Task;
    }

    private async Task EndSendingAfterAsync(Task drained, bool fromReceiver)
    {
        try { await drained.WaitAsync(DrainTimeout).ConfigureAwait(false); }
        catch (TimeoutException) { /* the peer does not read: give up on the rest */ }
        EndSending(fromReceiver);
    }

    private void EndSending(bool fromReceiver)
    {
        Shutdown(SocketShutdown.Send);
        // Ends a receiver blocked in the kernel when the close came from elsewhere.
        if (!fromReceiver) Shutdown(SocketShutdown.Receive);
        _closed.TrySetResult();
        if (Volatile.Read(ref _started) == 0) Release(); // never received: no receiver will
    }

    /// <summary>The receiver's last step: close (if nobody did), wait for the flush, linger after bad input, dispose.</summary>
    private void EndReceiving(string reason, bool badInput)
    {
        BeginClose(reason, fromReceiver: true).Wait(DrainTimeout + TimeSpan.FromSeconds(1));
        if (badInput && _closeReason == reason) Linger();
        Release();
    }

    private async Task EndReceivingAsync(string reason, bool badInput)
    {
        try { await BeginClose(reason, fromReceiver: true).WaitAsync(DrainTimeout + TimeSpan.FromSeconds(1)).ConfigureAwait(false); }
        catch (TimeoutException) { }
        if (badInput && _closeReason == reason) await LingerAsync().ConfigureAwait(false);
        Release();
    }

    private void Release()
    {
        Shutdown(SocketShutdown.Both);
        _pipe.Writer.Complete();
        _pipe.Reader.Complete();
        _socket.Dispose();
        _completion.TrySetResult();
    }

    private void Shutdown(SocketShutdown how)
    {
        try { _socket.Shutdown(how); }
        catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
    }

    /// <summary>Reads and drops the peer's remaining input for a moment, so the close is a FIN, not a RST.</summary>
    private void Linger()
    {
        var sink = new byte[4096];
        var deadline = DateTime.UtcNow + LingerTimeout;
        try
        {
            for (var total = 0; total < LingerMaxBytes;)
            {
                var left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero || !_socket.Poll(left, SelectMode.SelectRead)) break;
                var n = _socket.Receive(sink, SocketFlags.None);
                if (n == 0) break;
                total += n;
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
    }

    private async Task LingerAsync()
    {
        var sink = new byte[4096];
        using var cts = new CancellationTokenSource(LingerTimeout);
        try
        {
            for (var total = 0; total < LingerMaxBytes;)
            {
                var n = await _socket.ReceiveAsync(sink, SocketFlags.None, cts.Token).ConfigureAwait(false);
                if (n == 0) break;
                total += n;
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException) { }
    }
}
