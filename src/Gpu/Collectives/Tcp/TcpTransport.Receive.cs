using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Net.Sockets;
using Ray.Gpu.Collectives.SharedMemory;
using Ray.Protocol;

namespace Ray.Gpu.Collectives.Tcp;

/// <summary>The receive side of <see cref="TcpTransport"/>: one loop per peer, frame handling and delivery.</summary>
internal sealed partial class TcpTransport
{
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
                        peer.Handling(frame.Header); // the text is made only if an error reports it
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
}
