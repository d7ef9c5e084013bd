using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Ray.Gpu.Collectives.SharedMemory;
using Ray.Protocol;

namespace Ray.Gpu.Collectives.Tcp;

/// <summary>
/// The local rank's side of a TCP group: one non-blocking connection per peer. Sends write frames
/// straight from the caller's span under the connection's send gate (a message longer than a frame
/// goes out as a <see cref="TcpWire.Data"/> frame and <see cref="TcpWire.DataMore"/> frames); a send
/// the socket cannot take at once reads from every peer while it waits, so two ranks sending each
/// other large messages in a ring step never block each other. Receiving is a progress engine:
/// whoever holds a peer's read lock pumps its socket (<see cref="Pump"/>), streams payloads into the
/// message being assembled (a pooled array) and queues whole messages into the group's channel from
/// that peer, so the operations themselves are the same as for in-process ranks. The operation's own
/// thread pumps while it waits (<see cref="TrySpinReceive"/>: no thread hop, no wake-up, as MPI's
/// progress loop); a progress thread pumps when no operation does (idle sockets, failure detection,
/// waits longer than <see cref="CollectiveGroupOptions.TcpSpin"/>).
/// Lifecycle: 1. <see cref="TcpTransport.Rendezvous"/> connects; 2. <see cref="Start"/> starts the
/// progress thread; 3. a peer's connection closing without a <see cref="TcpWire.Bye"/> fails the group
/// with <see cref="CollectiveErrorKind.RankDied"/>, a malformed frame with
/// <see cref="CollectiveErrorKind.ProtocolError"/>, and any failure is sent to every peer
/// (<see cref="TcpWire.Fail"/>) so all ranks report the first one; 4. <see cref="Dispose"/> says
/// goodbye, half-closes, reads until the peers' ends close (bounded), and closes.
/// </summary>
internal sealed partial class TcpTransport : IDisposable
{
    /// <summary>Messages up to this size are copied behind their header and sent in one call.</summary>
    private const int CoalesceBytes = 64 * 1024;

    private readonly CollectiveGroup _group;
    private readonly Peer?[] _peers;
    private readonly int _maxFrame;
    private readonly long _timeoutTicks;
    private int _disposed;

    public TcpTransport(CollectiveGroup group, int rank, Socket?[] sockets, CollectiveGroupOptions options)
    {
        _group = group;
        Rank = rank;
        _maxFrame = options.TcpMaxFrameBytes;
        _timeoutTicks = (long)Math.Min(long.MaxValue / 2, options.Timeout.TotalSeconds * Stopwatch.Frequency);
        _spinTicks = (long)(options.TcpSpin.TotalSeconds * Stopwatch.Frequency);
        _peers = new Peer?[sockets.Length];
        for (int r = 0; r < sockets.Length; r++)
        {
            if (sockets[r] is { } socket)
            {
                socket.NoDelay = true;
                socket.Blocking = false; // the engine polls; a send past the group timeout fails (see SendAll)
                socket.SendBufferSize = 4 << 20;
                socket.ReceiveBufferSize = 4 << 20;
                socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
                socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime, 5);
                socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveInterval, 1);
                socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveRetryCount, 3);
                _peers[r] = new Peer(r, socket, socket.RemoteEndPoint?.ToString() ?? "?");
            }
        }
    }

    public int Rank { get; }

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
        long deadline = Stopwatch.GetTimestamp() + _timeoutTicks;
        peer.EnterSend();
        try
        {
            if (head.Length + first <= CoalesceBytes)
            {
                Span<byte> frame = peer.SendStaging.AsSpan(0, head.Length + first);
                head.CopyTo(frame);
                bytes[..first].CopyTo(frame[head.Length..]);
                SendAll(peer, frame, deadline);
            }
            else
            {
                SendAll(peer, head, deadline);
                SendAll(peer, bytes[..first], deadline);
            }

            Span<byte> more = stackalloc byte[FrameHeader.Size];
            for (int offset = first; offset < bytes.Length;)
            {
                int n = Math.Min(_maxFrame, bytes.Length - offset);
                new FrameHeader(n, TcpWire.DataMore, FrameFlags.None, 0).Write(more);
                SendAll(peer, more, deadline);
                SendAll(peer, bytes.Slice(offset, n), deadline);
                offset += n;
            }
        }
        catch (TimeoutException)
        {
            error = $"rank {Rank} could not send to rank {to} ({peer.Endpoint}) within the timeout: it stopped reading";
            _group.Fail(CollectiveErrorKind.Timeout, to, error);
        }
        catch (GroupFailedException)
        {
            error = "the group failed while sending";
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            error = e.Message;
        }
        finally
        {
            peer.ExitSend();
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
            // Never wait behind a send in progress (it may be the one that is failing, possibly on
            // this very thread, mid-frame); that peer will see the failure through its own connections.
            if (peer is null || !peer.TryEnterSend(100))
            {
                continue;
            }

            try
            {
                SendAll(peer, frame, Stopwatch.GetTimestamp() + Stopwatch.Frequency, pumpWhileBlocked: false);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or TimeoutException or GroupFailedException)
            {
            }
            finally
            {
                peer.ExitSend();
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
        foreach (Peer? peer in _peers)
        {
            if (peer is null || !peer.TryEnterSend(1000))
            {
                continue;
            }

            try
            {
                SendAll(peer, bye, Stopwatch.GetTimestamp() + Stopwatch.Frequency, pumpWhileBlocked: false);
                peer.Socket.Shutdown(SocketShutdown.Send);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or TimeoutException or GroupFailedException)
            {
            }
            finally
            {
                peer.ExitSend();
            }
        }

        // Read until each peer closes its end (it does on our goodbye), so our close sends no reset
        // that could destroy data still in flight to a peer; bounded, a hung peer does not hold us.
        DrainUntilClosed(TimeSpan.FromSeconds(2));
        StopProgress();
        foreach (Peer? peer in _peers)
        {
            peer?.Socket.Dispose();
        }
    }

    /// <summary>
    /// Sends all of <paramref name="data"/> on the non-blocking socket. When the socket's buffer is
    /// full, pumps every peer's receive side (unless <paramref name="pumpWhileBlocked"/> is false) and
    /// waits for the socket to take more, until <paramref name="deadline"/>.
    /// </summary>
    private void SendAll(Peer peer, ReadOnlySpan<byte> data, long deadline, bool pumpWhileBlocked = true)
    {
        long blockedSince = 0;
        while (data.Length > 0)
        {
            int n = peer.Socket.Send(data, SocketFlags.None, out SocketError status);
            if (status == SocketError.Success)
            {
                data = data[n..];
                continue;
            }

            if (status != SocketError.WouldBlock)
            {
                throw new SocketException((int)status);
            }

            if (pumpWhileBlocked)
            {
                if (_group.IsFailed)
                {
                    throw new GroupFailedException();
                }

                MarkActive();
                if (PumpAll() > 0)
                {
                    continue;
                }
            }

            if (Stopwatch.GetTimestamp() > deadline)
            {
                throw new TimeoutException();
            }

            // Like a receive: yield for up to the spin budget (the peer is usually reading right
            // now), then sleep in the kernel until the socket drains or data arrives.
            long now = Stopwatch.GetTimestamp();
            blockedSince = blockedSince == 0 ? now : blockedSince;
            if (pumpWhileBlocked && now - blockedSince < _spinTicks)
            {
                Thread.Yield();
                continue;
            }

            WaitWritableOrReadable(peer, pumpWhileBlocked);
        }
    }

    /// <summary>Thrown inside a send that gave up because the group already failed.</summary>
    private sealed class GroupFailedException : Exception;
}
