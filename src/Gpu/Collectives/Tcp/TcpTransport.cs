using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Ray.Gpu.Collectives.SharedMemory;
using Ray.Protocol;

namespace Ray.Gpu.Collectives.Tcp;

/// <summary>
/// The local rank's side of a TCP group: one connection per peer. Sends write frames straight from
/// the caller's span under the connection's send lock (a message longer than a frame goes out as a
/// <see cref="TcpWire.Data"/> frame and <see cref="TcpWire.DataMore"/> frames). One receive loop per
/// connection parses frames with <see cref="FrameParser"/> and queues each whole message (a pooled
/// byte array) into the group's channel from that peer, so the operations themselves are the same
/// as for in-process ranks; because the loops drain every socket eagerly, two ranks sending each
/// other large messages in a ring step never block each other.
/// Lifecycle: 1. <see cref="TcpTransport.Rendezvous"/> connects; 2. <see cref="Start"/> runs the loops;
/// 3. a peer's connection closing without a <see cref="TcpWire.Bye"/> fails the group with
/// <see cref="CollectiveErrorKind.RankDied"/>, a malformed frame with
/// <see cref="CollectiveErrorKind.ProtocolError"/>, and any failure is sent to every peer
/// (<see cref="TcpWire.Fail"/>) so all ranks report the first one; 4. <see cref="Dispose"/> says
/// goodbye, half-closes, waits briefly for the peers' ends, and closes.
/// </summary>
internal sealed partial class TcpTransport : IDisposable
{
    /// <summary>Messages up to this size are copied behind their header and sent in one call.</summary>
    private const int CoalesceBytes = 64 * 1024;

    private readonly CollectiveGroup _group;
    private readonly Peer?[] _peers;
    private readonly int _maxFrame;
    private int _disposed;

    public TcpTransport(CollectiveGroup group, int rank, Socket?[] sockets, CollectiveGroupOptions options)
    {
        _group = group;
        Rank = rank;
        _maxFrame = options.TcpMaxFrameBytes;
        _peers = new Peer?[sockets.Length];
        int timeoutMs = (int)Math.Min(int.MaxValue, Math.Max(1, options.Timeout.TotalMilliseconds));
        for (int r = 0; r < sockets.Length; r++)
        {
            if (sockets[r] is { } socket)
            {
                socket.NoDelay = true;
                socket.SendTimeout = timeoutMs; // a peer that stops reading cannot block a send past the group timeout
                socket.SendBufferSize = 1 << 20;
                socket.ReceiveBufferSize = 1 << 20;
                socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
                socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime, 5);
                socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveInterval, 1);
                socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveRetryCount, 3);
                _peers[r] = new Peer(r, socket, socket.RemoteEndPoint?.ToString() ?? "?");
            }
        }
    }

    public int Rank { get; }

    /// <summary>Starts one receive loop per peer.</summary>
    public void Start()
    {
        foreach (Peer? peer in _peers)
        {
            if (peer is not null)
            {
                peer.Loop = Task.Run(() => ReceiveLoopAsync(peer));
            }
        }
    }

    public void Send<T>(Communicator.OpScope scope, int to, ReadOnlySpan<T> data, bool pointToPoint)
        where T : unmanaged
    {
        Peer peer = _peers[to]!;
        ReadOnlySpan<byte> bytes = MemoryMarshal.AsBytes(data);
        int first = (int)Math.Min(bytes.Length, _maxFrame - TcpWire.DataHeaderSize);
        Span<byte> head = stackalloc byte[FrameHeader.Size + TcpWire.DataHeaderSize];
        new FrameHeader(TcpWire.DataHeaderSize + first, TcpWire.Data, FrameFlags.None, (ulong)(pointToPoint ? 0 : scope.Sequence)).Write(head);
        Span<byte> sub = head[FrameHeader.Size..];
        BinaryPrimitives.WriteInt32LittleEndian(sub, ShmMessageHeader.Code(scope.Operation));
        BinaryPrimitives.WriteInt32LittleEndian(sub[4..], ShmType<T>.Code);
        BinaryPrimitives.WriteInt32LittleEndian(sub[8..], System.Runtime.CompilerServices.Unsafe.SizeOf<T>());
        BinaryPrimitives.WriteInt32LittleEndian(sub[12..], pointToPoint ? 1 : 0);
        BinaryPrimitives.WriteInt64LittleEndian(sub[16..], bytes.Length);
        string? error = null;
        lock (peer.SendLock)
        {
            try
            {
                if (head.Length + first <= CoalesceBytes)
                {
                    byte[] frame = ArrayPool<byte>.Shared.Rent(head.Length + first);
                    head.CopyTo(frame);
                    bytes[..first].CopyTo(frame.AsSpan(head.Length));
                    SendAll(peer.Socket, frame.AsSpan(0, head.Length + first));
                    ArrayPool<byte>.Shared.Return(frame);
                }
                else
                {
                    SendAll(peer.Socket, head);
                    SendAll(peer.Socket, bytes[..first]);
                }

                Span<byte> more = stackalloc byte[FrameHeader.Size];
                for (int offset = first; offset < bytes.Length;)
                {
                    int n = Math.Min(_maxFrame, bytes.Length - offset);
                    new FrameHeader(n, TcpWire.DataMore, FrameFlags.None, 0).Write(more);
                    SendAll(peer.Socket, more);
                    SendAll(peer.Socket, bytes.Slice(offset, n));
                    offset += n;
                }
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.TimedOut || e.SocketErrorCode == SocketError.WouldBlock)
            {
                error = $"rank {Rank} could not send to rank {to} ({peer.Endpoint}) within the timeout: it stopped reading";
                _group.Fail(CollectiveErrorKind.Timeout, to, error);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                error = e.Message;
            }
        }

        if (error is not null)
        {
            if (!_group.IsFailed)
            {
                _group.Fail(
                    peer.SaidBye ? CollectiveErrorKind.GroupClosed : CollectiveErrorKind.RankDied,
                    to,
                    $"sending to rank {to} ({peer.Endpoint}) failed: {error}");
            }

            throw _group.CreateException(Rank);
        }
    }

    /// <summary>Tells every peer about a failure (best effort: a peer that is gone learns it from its own connections).</summary>
    public void BroadcastFailure(CollectiveErrorKind kind, int failedRank, string detail)
    {
        byte[] frame = TcpWire.EncodeFail(kind, failedRank, detail);
        foreach (Peer? peer in _peers)
        {
            if (peer is null)
            {
                continue;
            }

            // Never wait behind a send in progress (it may be the one that is failing); that peer
            // will see the failure through its own connections or its timeout.
            if (Monitor.TryEnter(peer.SendLock, 100))
            {
                try
                {
                    SendAll(peer.Socket, frame);
                }
                catch (Exception e) when (e is SocketException or ObjectDisposedException)
                {
                }
                finally
                {
                    Monitor.Exit(peer.SendLock);
                }
            }
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        byte[] bye = TcpWire.Frame(TcpWire.Bye, []);
        var loops = new List<Task>();
        foreach (Peer? peer in _peers)
        {
            if (peer is null)
            {
                continue;
            }

            if (Monitor.TryEnter(peer.SendLock, 1000))
            {
                try
                {
                    SendAll(peer.Socket, bye);
                    peer.Socket.Shutdown(SocketShutdown.Send);
                }
                catch (Exception e) when (e is SocketException or ObjectDisposedException)
                {
                }
                finally
                {
                    Monitor.Exit(peer.SendLock);
                }
            }

            loops.Add(peer.Loop);
        }

        // Wait for each peer to close its end (it does on our goodbye), so our close sends no reset
        // that could destroy data still in flight to a peer; bounded, a hung peer does not hold us.
        try
        {
            Task.WaitAll(loops.ToArray(), TimeSpan.FromSeconds(2));
        }
        catch (AggregateException)
        {
            // A loop that failed has already reported it to the group.
        }
        foreach (Peer? peer in _peers)
        {
            peer?.Socket.Dispose();
        }
    }

    private static void SendAll(Socket socket, ReadOnlySpan<byte> data)
    {
        while (data.Length > 0)
        {
            int n = socket.Send(data);
            data = data[n..];
        }
    }

    private async Task ReceiveLoopAsync(Peer peer)
    {
        PipeReader reader;
        try
        {
            reader = PipeReader.Create(new NetworkStream(peer.Socket, ownsSocket: false), new StreamPipeReaderOptions(bufferSize: 256 * 1024, minimumReadSize: 64 * 1024, leaveOpen: true));
        }
        catch (IOException e)
        {
            Ended(peer, e.Message); // already shut down (disposed at once, or the peer is gone)
            return;
        }

        var parser = new FrameParser(_maxFrame + TcpWire.DataHeaderSize);
        try
        {
            while (true)
            {
                peer.Status = "reading";
                ReadResult result = await reader.ReadAsync().ConfigureAwait(false);
                ReadOnlySequence<byte> buffer = result.Buffer;
                try
                {
                    while (parser.TryParseFrame(ref buffer, out Frame frame))
                    {
                        peer.Status = $"handling frame 0x{frame.Header.Kind:x4} ({frame.Header.PayloadLength} bytes)";
                        Handle(peer, frame);
                    }

                    if (result.IsCompleted)
                    {
                        if (buffer.Length > 0 || peer.Pending is not null)
                        {
                            throw new ProtocolException($"the connection ended inside a frame or message ({buffer.Length} bytes unparsed)");
                        }

                        break;
                    }
                }
                finally
                {
                    reader.AdvanceTo(buffer.Start, buffer.End);
                }
            }

            Ended(peer, null);
        }
        catch (ProtocolException e) when (!peer.SaidBye || peer.Pending is not null)
        {
            _group.Fail(
                CollectiveErrorKind.ProtocolError,
                peer.Rank,
                $"rank {peer.Rank} ({peer.Endpoint}) sent a malformed frame: {e.Message}; connection closed");
            CloseQuietly(peer);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or ProtocolException)
        {
            Ended(peer, e.Message);
        }
        finally
        {
            peer.Pending?.Return();
            peer.Pending = null;
            await reader.CompleteAsync().ConfigureAwait(false);
        }
    }

    /// <summary>The connection to <paramref name="peer"/> ended (EOF, or an error while reading).</summary>
    private void Ended(Peer peer, string? error)
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            return;
        }

        if (peer.SaidBye)
        {
            // It left on purpose: what it sent is queued; a later wait on it fails with GroupClosed.
            _group.PeerLeft(peer.Rank);
            CloseQuietly(peer, sendOnly: true);
            return;
        }

        _group.Fail(
            CollectiveErrorKind.RankDied,
            peer.Rank,
            $"the connection to rank {peer.Rank} ({peer.Endpoint}) closed without a goodbye ({error ?? "end of stream"}, last: {peer.Status}): its process died or the network dropped");
    }

    private static void CloseQuietly(Peer peer, bool sendOnly = false)
    {
        try
        {
            peer.Socket.Shutdown(sendOnly ? SocketShutdown.Send : SocketShutdown.Both);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
        }
    }

    private void Handle(Peer peer, in Frame frame)
    {
        ReadOnlySequence<byte> payload = frame.Payload;
        switch (frame.Header.Kind)
        {
            case TcpWire.Data:
                if (peer.Pending is not null)
                {
                    throw new ProtocolException($"a new message began before the previous one ended ({peer.Pending.Received} of {peer.Pending.Total} bytes)");
                }

                if (payload.Length < TcpWire.DataHeaderSize)
                {
                    throw new ProtocolException($"data frame of {payload.Length} bytes is shorter than its {TcpWire.DataHeaderSize}-byte header");
                }

                Span<byte> sub = stackalloc byte[TcpWire.DataHeaderSize];
                payload.Slice(0, TcpWire.DataHeaderSize).CopyTo(sub);
                int elementSize = BinaryPrimitives.ReadInt32LittleEndian(sub[8..]);
                int flags = BinaryPrimitives.ReadInt32LittleEndian(sub[12..]);
                long total = BinaryPrimitives.ReadInt64LittleEndian(sub[16..]);
                long fragment = payload.Length - TcpWire.DataHeaderSize;
                if (elementSize is not (1 or 2 or 4 or 8 or 16) || total < 0 || total > Array.MaxLength || total % elementSize != 0 || fragment > total || (flags & ~1) != 0)
                {
                    throw new ProtocolException($"bad data header: {total} bytes of {elementSize}-byte elements, flags {flags}, {fragment} bytes in the first frame");
                }

                var message = new PendingMessage(
                    (long)frame.Header.RequestId,
                    BinaryPrimitives.ReadInt32LittleEndian(sub),
                    BinaryPrimitives.ReadInt32LittleEndian(sub[4..]),
                    elementSize,
                    (flags & 1) != 0,
                    total);
                message.Append(payload.Slice(TcpWire.DataHeaderSize));
                if (message.Complete)
                {
                    Deliver(peer, message);
                }
                else
                {
                    peer.Pending = message;
                }

                break;

            case TcpWire.DataMore:
                PendingMessage pending = peer.Pending ?? throw new ProtocolException("a continuation frame without a message");
                if (payload.Length > pending.Total - pending.Received)
                {
                    throw new ProtocolException($"continuation of {payload.Length} bytes overruns the message ({pending.Received} of {pending.Total} received)");
                }

                pending.Append(payload);
                if (pending.Complete)
                {
                    peer.Pending = null;
                    Deliver(peer, pending);
                }

                break;

            case TcpWire.Fail:
                byte[] bytes = payload.ToArray();
                (CollectiveErrorKind kind, int failedRank, string detail) = TcpWire.DecodeFail(bytes);
                _group.Fail(kind, failedRank, detail);
                break;

            case TcpWire.Bye:
                peer.SaidBye = true;
                break;

            default:
                throw new ProtocolException($"unexpected frame kind 0x{frame.Header.Kind:x4}");
        }
    }

    private void Deliver(Peer peer, PendingMessage message)
    {
        var collective = new CollectiveMessage(
            message.Buffer,
            (int)(message.Total / message.ElementSize),
            message.PointToPoint ? 0 : message.Sequence,
            ShmOperationNames.Name(message.OperationCode),
            message.TypeCode);
        if (!_group.Writer(peer.Rank, Rank, message.PointToPoint).TryWrite(collective))
        {
            message.Return(); // the group was disposed
        }
    }

    private sealed class Peer(int rank, Socket socket, string endpoint)
    {
        public int Rank { get; } = rank;

        public Socket Socket { get; } = socket;

        public string Endpoint { get; } = endpoint;

        public object SendLock { get; } = new();

        public Task Loop { get; set; } = Task.CompletedTask;

        public volatile bool SaidBye;

        public PendingMessage? Pending { get; set; }

        /// <summary>What the receive loop was doing last (put into error messages).</summary>
        public string Status { get; set; } = "connected";
    }

    /// <summary>A message being assembled from its frames into a pooled array.</summary>
    private sealed class PendingMessage(long sequence, int operationCode, int typeCode, int elementSize, bool pointToPoint, long total)
    {
        public long Sequence { get; } = sequence;

        public int OperationCode { get; } = operationCode;

        public int TypeCode { get; } = typeCode;

        public int ElementSize { get; } = elementSize;

        public bool PointToPoint { get; } = pointToPoint;

        public long Total { get; } = total;

        public long Received { get; private set; }

        public byte[]? Buffer { get; private set; } = total == 0 ? null : ArrayPool<byte>.Shared.Rent((int)total);

        public bool Complete => Received == Total;

        public void Append(ReadOnlySequence<byte> bytes)
        {
            bytes.CopyTo(Buffer.AsSpan((int)Received));
            Received += bytes.Length;
        }

        public void Return()
        {
            if (Buffer is { } buffer)
            {
                Buffer = null;
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }
}
