using System.Buffers.Binary;
using System.Net.Sockets;
using Ray.Gpu.Collectives.SharedMemory;
using Ray.Protocol;

namespace Ray.Gpu.Collectives.Tcp;

/// <summary>
/// The receive side of <see cref="TcpTransport"/>: pumping one connection (non-blocking reads),
/// frame parsing, and delivery of whole messages into the group's channels.
/// </summary>
internal sealed partial class TcpTransport
{
    /// <summary>
    /// Reads what <paramref name="peer"/>'s socket holds now (never blocks) and handles every whole
    /// frame; a data payload is read straight into its message's array. Call under the peer's read
    /// lock. Returns the bytes read (0: nothing there, or the connection has ended).
    /// </summary>
    private int Pump(Peer peer)
    {
        if (peer.Ended)
        {
            return 0;
        }

        try
        {
            int n;
            SocketError status;
            if (peer.FrameRemaining > 0 && peer.Start == peer.End)
            {
                // Inside a data frame with nothing staged: read the payload into the message itself.
                PendingMessage pending = peer.Pending!;
                n = peer.Socket.Receive(pending.Free(peer.FrameRemaining), SocketFlags.None, out status);
                if (status == SocketError.Success && n > 0)
                {
                    pending.Received += n;
                    peer.FrameRemaining -= n;
                    FinishFrameIfDone(peer);
                    return n;
                }
            }
            else
            {
                if (peer.Start > 0 && peer.Staging.Length - peer.End < FrameHeader.Size + TcpWire.DataHeaderSize)
                {
                    // Move the unparsed tail to the front (a header at most, or one small frame).
                    peer.Staging.AsSpan(peer.Start, peer.End - peer.Start).CopyTo(peer.Staging);
                    peer.End -= peer.Start;
                    peer.Start = 0;
                }

                n = peer.Socket.Receive(peer.Staging.AsSpan(peer.End), SocketFlags.None, out status);
                if (status == SocketError.Success && n > 0)
                {
                    peer.End += n;
                    Parse(peer);
                    return n;
                }
            }

            if (status == SocketError.WouldBlock)
            {
                return 0;
            }

            if (status != SocketError.Success)
            {
                throw new SocketException((int)status);
            }

            // End of stream.
            if (peer.End > peer.Start || peer.Pending is not null)
            {
                throw new ProtocolException($"the connection ended inside a frame or message ({peer.End - peer.Start} bytes unparsed)");
            }

            EndPeer(peer);
            Ended(peer, null);
        }
        catch (ProtocolException e) when (!peer.SaidBye || peer.Pending is not null)
        {
            EndPeer(peer);
            _group.Fail(
                CollectiveErrorKind.ProtocolError,
                peer.Rank,
                $"rank {peer.Rank} ({peer.Endpoint}) sent a malformed frame: {e.Message}; connection closed");
            CloseQuietly(peer);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or ProtocolException)
        {
            EndPeer(peer);
            Ended(peer, e.Message);
        }

        return 0;
    }

    /// <summary>Reads every peer that has bytes waiting (skipping those another thread is pumping); returns the bytes read.</summary>
    private int PumpAll()
    {
        int total = 0;
        foreach (Peer? peer in _peers)
        {
            if (peer is not null && !peer.Ended && Monitor.TryEnter(peer.ReadLock))
            {
                try
                {
                    total += Pump(peer);
                }
                finally
                {
                    Monitor.Exit(peer.ReadLock);
                }
            }
        }

        return total;
    }

    private static void EndPeer(Peer peer)
    {
        peer.Ended = true;
        peer.Pending?.Return();
        peer.Pending = null;
        peer.FrameRemaining = 0;
    }

    /// <summary>Handles the whole frames (and the start of a data payload) in the staging buffer.</summary>
    private void Parse(Peer peer)
    {
        while (true)
        {
            if (peer.FrameRemaining > 0)
            {
                int take = (int)Math.Min(peer.FrameRemaining, peer.End - peer.Start);
                if (take == 0)
                {
                    break;
                }

                PendingMessage pending = peer.Pending!;
                peer.Staging.AsSpan(peer.Start, take).CopyTo(pending.Free(take));
                pending.Received += take;
                peer.Start += take;
                peer.FrameRemaining -= take;
                FinishFrameIfDone(peer);
                continue;
            }

            int available = peer.End - peer.Start;
            if (available < FrameHeader.Size)
            {
                break;
            }

            ReadOnlySpan<byte> staged = peer.Staging.AsSpan(peer.Start, available);
            var header = FrameHeader.Read(staged);
            int limit = _maxFrame + TcpWire.DataHeaderSize;
            if (header.PayloadLength < 0 || header.PayloadLength > limit)
            {
                throw new ProtocolException($"frame payload of {header.PayloadLength} bytes is outside 0..{limit} (kind {header.Kind}, request {header.RequestId})");
            }

            if ((ushort)header.Flags > 7)
            {
                throw new ProtocolException($"unknown frame flags 0x{(ushort)header.Flags:x} (kind {header.Kind})");
            }

            peer.Handling(header); // the text is made only if an error reports it
            if (header.Kind == TcpWire.Data)
            {
                int need = FrameHeader.Size + Math.Min(header.PayloadLength, TcpWire.DataHeaderSize);
                if (available < need)
                {
                    break;
                }

                peer.Start += need;
                BeginMessage(peer, header, staged.Slice(FrameHeader.Size, need - FrameHeader.Size));
                continue;
            }

            if (header.Kind == TcpWire.DataMore)
            {
                PendingMessage pending = peer.Pending ?? throw new ProtocolException("a continuation frame without a message");
                if (header.PayloadLength > pending.Total - pending.Received)
                {
                    throw new ProtocolException($"continuation of {header.PayloadLength} bytes overruns the message ({pending.Received} of {pending.Total} received)");
                }

                peer.Start += FrameHeader.Size;
                peer.FrameRemaining = header.PayloadLength;
                FinishFrameIfDone(peer);
                continue;
            }

            // A control frame: handled whole, from the staging buffer (grown if it is that large).
            int whole = FrameHeader.Size + header.PayloadLength;
            if (available < whole)
            {
                if (whole > peer.Staging.Length)
                {
                    var grown = new byte[whole];
                    staged.CopyTo(grown);
                    peer.Staging = grown;
                    peer.End = available;
                    peer.Start = 0;
                }

                break;
            }

            HandleControl(peer, header, staged.Slice(FrameHeader.Size, header.PayloadLength));
            peer.Start += whole;
        }

        if (peer.Start == peer.End)
        {
            peer.Start = peer.End = 0;
        }
    }

    private void BeginMessage(Peer peer, FrameHeader header, ReadOnlySpan<byte> sub)
    {
        if (peer.Pending is not null)
        {
            throw new ProtocolException($"a new message began before the previous one ended ({peer.Pending.Received} of {peer.Pending.Total} bytes)");
        }

        if (header.PayloadLength < TcpWire.DataHeaderSize)
        {
            throw new ProtocolException($"data frame of {header.PayloadLength} bytes is shorter than its {TcpWire.DataHeaderSize}-byte header");
        }

        int elementSize = BinaryPrimitives.ReadInt32LittleEndian(sub[8..]);
        int flags = BinaryPrimitives.ReadInt32LittleEndian(sub[12..]);
        long total = BinaryPrimitives.ReadInt64LittleEndian(sub[16..]);
        long fragment = header.PayloadLength - TcpWire.DataHeaderSize;
        if (elementSize is not (1 or 2 or 4 or 8 or 16) || total < 0 || total > Array.MaxLength || total % elementSize != 0 || fragment > total || (flags & ~1) != 0)
        {
            throw new ProtocolException($"bad data header: {total} bytes of {elementSize}-byte elements, flags {flags}, {fragment} bytes in the first frame");
        }

        peer.Pending = new PendingMessage(
            (long)header.RequestId,
            BinaryPrimitives.ReadInt32LittleEndian(sub),
            BinaryPrimitives.ReadInt32LittleEndian(sub[4..]),
            elementSize,
            (flags & 1) != 0,
            total);
        peer.FrameRemaining = fragment;
        FinishFrameIfDone(peer);
    }

    /// <summary>At the end of a data frame's payload, delivers the message if it is whole.</summary>
    private void FinishFrameIfDone(Peer peer)
    {
        if (peer.FrameRemaining == 0 && peer.Pending is { Complete: true } message)
        {
            peer.Pending = null;
            Deliver(peer, message);
        }
    }

    private void HandleControl(Peer peer, FrameHeader header, ReadOnlySpan<byte> payload)
    {
        switch (header.Kind)
        {
            case TcpWire.Fail:
                (CollectiveErrorKind kind, int failedRank, string detail) = TcpWire.DecodeFail(payload.ToArray());
                _group.Fail(kind, failedRank, detail);
                break;

            case TcpWire.Bye:
                peer.SaidBye = true;
                break;

            default:
                throw new ProtocolException($"unexpected frame kind 0x{header.Kind:x4}");
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
}
