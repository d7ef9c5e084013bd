using System.Buffers;
using System.Buffers.Binary;
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

    private sealed class Peer(int rank, Socket socket, string endpoint)
    {
        public int Rank { get; } = rank;

        public Socket Socket { get; } = socket;

        public string Endpoint { get; } = endpoint;

        public object SendLock { get; } = new();

        public Task Loop { get; set; } = Task.CompletedTask;

        public volatile bool SaidBye;

        public PendingMessage? Pending { get; set; }

        private string _status = "connected";
        private FrameHeader _frame;
        private bool _inFrame;

        /// <summary>What the receive loop was doing last (put into error messages).</summary>
        public string Status
        {
            get => _inFrame ? $"handling frame 0x{_frame.Kind:x4} ({_frame.PayloadLength} bytes)" : _status;
            set
            {
                _status = value;
                _inFrame = false;
            }
        }

        /// <summary>Notes the frame being handled (per frame: no allocation).</summary>
        public void Handling(FrameHeader frame)
        {
            _frame = frame;
            _inFrame = true;
        }
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
