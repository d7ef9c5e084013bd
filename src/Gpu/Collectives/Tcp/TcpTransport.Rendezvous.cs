using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Ray.Protocol;

namespace Ray.Gpu.Collectives.Tcp;

/// <summary>
/// Rendezvous: one connection per pair of ranks, opened by the higher rank. With the endpoints known
/// up front every rank listens on its own and connects to the lower ones; with only rank 0's known,
/// the others first connect to rank 0 and announce an ephemeral listening endpoint, and rank 0
/// answers all of them with the roster once everyone arrived. Connects only ever go to lower ranks,
/// so the connect-then-wait-for-welcome steps cannot form a cycle. Every connection carries a
/// handshake (group, token, world size, frame limit, rank); a bad one is refused with a reason.
/// </summary>
internal sealed partial class TcpTransport
{
    private static readonly TimeSpan HandshakeReadLimit = TimeSpan.FromSeconds(5);

    /// <summary>Connects rank <paramref name="rank"/> to every other rank; returns one socket per peer (null for itself).</summary>
    public static Socket?[] Rendezvous(string group, int world, int rank, TcpRendezvous rendezvous, CollectiveGroupOptions options)
    {
        DateTime deadline = DateTime.UtcNow + options.Timeout;
        var peers = new Socket?[world];
        if (world == 1)
        {
            return peers;
        }

        var context = new HandshakeContext(group, world, rank, rendezvous.Token, options.TcpMaxFrameBytes);
        Socket? listener = null;
        try
        {
            IPEndPoint[] roster;
            if (rendezvous.Endpoints is { } endpoints)
            {
                if (endpoints.Count != world)
                {
                    throw new ArgumentException($"{endpoints.Count} endpoints given for a world of {world} ranks.", nameof(rendezvous));
                }

                roster = endpoints.ToArray();
                listener = Listen(roster[rank]);
            }
            else if (rank == 0)
            {
                listener = Listen(rendezvous.RankZero!);
                roster = new IPEndPoint[world];
                roster[0] = (IPEndPoint)listener.LocalEndPoint!;
                AcceptPeers(listener, context, peers, r => r != 0, roster, deadline);
                byte[] welcome = TcpWire.EncodeWelcome(roster);
                for (int r = 1; r < world; r++)
                {
                    peers[r]!.Send(welcome);
                }
            }
            else
            {
                Socket zero = ConnectWithRetry(rendezvous.RankZero!, 0, context, deadline);
                try
                {
                    listener = Listen(new IPEndPoint(rendezvous.ListenAddress ?? ((IPEndPoint)zero.LocalEndPoint!).Address, 0));
                    roster = Handshake(zero, 0, context, (IPEndPoint)listener.LocalEndPoint!, deadline);
                }
                catch
                {
                    zero.Dispose();
                    throw;
                }

                peers[0] = zero;
                if (roster.Length != world)
                {
                    throw Error(CollectiveErrorKind.Mismatch, context, 0, $"rank 0 sent a roster of {roster.Length} ranks for a world of {world}");
                }
            }

            for (int lower = 0; lower < rank; lower++)
            {
                if (peers[lower] is null)
                {
                    Socket socket = ConnectWithRetry(roster[lower], lower, context, deadline);
                    peers[lower] = socket;
                    Handshake(socket, lower, context, null, deadline);
                }
            }

            AcceptPeers(listener!, context, peers, r => r > rank, null, deadline);
            return peers;
        }
        catch
        {
            foreach (Socket? socket in peers)
            {
                socket?.Dispose();
            }

            throw;
        }
        finally
        {
            listener?.Dispose();
        }
    }

    private static Socket Listen(IPEndPoint endpoint)
    {
        var listener = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            listener.Bind(endpoint);
            listener.Listen(128);
            return listener;
        }
        catch
        {
            listener.Dispose();
            throw;
        }
    }

    private static Socket ConnectWithRetry(IPEndPoint endpoint, int peer, HandshakeContext context, DateTime deadline)
    {
        SocketException? last = null;
        while (DateTime.UtcNow < deadline)
        {
            var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                using var cts = new CancellationTokenSource(deadline - DateTime.UtcNow is var left && left > TimeSpan.Zero ? left : TimeSpan.FromMilliseconds(1));
                // Blocking by design (justified): a rank's rendezvous runs on its own set-up thread, and only
                // the socket's connect (with the deadline's token) completes this wait.
                socket.ConnectAsync(endpoint, cts.Token).AsTask().GetAwaiter().GetResult();
                return socket;
            }
            catch (SocketException e)
            {
                // Not listening yet (the peer process is still starting): try again until the deadline.
                socket.Dispose();
                last = e;
                Thread.Sleep(20);
            }
            catch (OperationCanceledException)
            {
                socket.Dispose();
                break;
            }
        }

        throw Error(CollectiveErrorKind.Timeout, context, peer, $"could not connect to rank {peer} at {endpoint} within the timeout ({last?.SocketErrorCode.ToString() ?? "no answer"})");
    }

    /// <summary>Sends our hello on a fresh connection and waits for the welcome (the roster, from rank 0) or a refusal.</summary>
    private static IPEndPoint[] Handshake(Socket socket, int peer, HandshakeContext context, IPEndPoint? listen, DateTime deadline)
    {
        socket.Send(TcpWire.EncodeHello(new TcpWire.HelloMessage(context.Group, context.Token, context.World, context.Rank, context.MaxFrameBytes, listen)));
        try
        {
            (FrameHeader header, byte[] payload) = TcpWire.ReadFrame(socket, new FrameParser(TcpWire.MaxHandshakePayload), deadline);
            return header.Kind switch
            {
                TcpWire.Welcome => TcpWire.DecodeWelcome(payload),
                TcpWire.Refused => throw Error(CollectiveErrorKind.Refused, context, peer, $"rank {peer} at {socket.RemoteEndPoint} refused the handshake: {Encoding.UTF8.GetString(payload)}"),
                _ => throw new ProtocolException($"expected a welcome, got frame kind 0x{header.Kind:x4}"),
            };
        }
        catch (ProtocolException e)
        {
            throw Error(CollectiveErrorKind.ProtocolError, context, peer, $"rank {peer} at {socket.RemoteEndPoint} answered the handshake with a malformed frame: {e.Message}");
        }
        catch (TimeoutException)
        {
            throw Error(CollectiveErrorKind.Timeout, context, peer, $"rank {peer} at {socket.RemoteEndPoint} did not answer the handshake within the timeout");
        }
        catch (Exception e) when (e is IOException or SocketException)
        {
            throw Error(CollectiveErrorKind.RankDied, context, peer, $"the connection to rank {peer} at {socket.RemoteEndPoint} closed during the handshake: {e.Message}");
        }
    }

    /// <summary>
    /// Accepts connections until every rank that <paramref name="expected"/> names has joined with a
    /// valid hello. A connection with a bad hello (wrong token, group, world size, frame limit, an
    /// unexpected or duplicate rank, a malformed frame) is refused with the reason and closed; the
    /// group keeps waiting for the real peer. Rank 0 collects the <paramref name="roster"/> (and
    /// sends it once all joined); the other ranks pass none and welcome each higher rank at once.
    /// </summary>
    private static void AcceptPeers(Socket listener, HandshakeContext context, Socket?[] peers, Func<int, bool> expected, IPEndPoint[]? roster, DateTime deadline)
    {
        int missing = Enumerable.Range(0, context.World).Count(r => expected(r) && peers[r] is null);
        while (missing > 0)
        {
            TimeSpan left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero || !listener.Poll(left, SelectMode.SelectRead))
            {
                int late = Enumerable.Range(0, context.World).First(r => expected(r) && peers[r] is null);
                throw Error(CollectiveErrorKind.Timeout, context, late, $"rank {late} did not connect to rank {context.Rank} within the timeout");
            }

            Socket socket = listener.Accept();
            string? refusal;
            TcpWire.HelloMessage hello = default;
            try
            {
                DateTime readDeadline = DateTime.UtcNow + HandshakeReadLimit < deadline ? DateTime.UtcNow + HandshakeReadLimit : deadline;
                (FrameHeader header, byte[] payload) = TcpWire.ReadFrame(socket, new FrameParser(TcpWire.MaxHandshakePayload), readDeadline);
                if (header.Kind != TcpWire.Hello)
                {
                    throw new ProtocolException($"expected a hello, got frame kind 0x{header.Kind:x4}");
                }

                hello = TcpWire.DecodeHello(payload);
                refusal = context.Check(hello, expected, peers, needsListen: roster is not null);
            }
            catch (ProtocolException e)
            {
                refusal = $"malformed handshake: {e.Message}";
            }
            catch (Exception e) when (e is IOException or SocketException or TimeoutException)
            {
                socket.Dispose();
                continue;
            }

            if (refusal is not null)
            {
                Refuse(socket, refusal);
                continue;
            }

            peers[hello.Rank] = socket;
            if (roster is not null)
            {
                roster[hello.Rank] = hello.Listen!;
            }

            if (roster is null)
            {
                socket.Send(TcpWire.EncodeWelcome(null));
            }

            missing--;
        }
    }

    /// <summary>Sends the reason, then closes gracefully in the background (unread input would turn the close into a reset and lose the reason).</summary>
    internal static void Refuse(Socket socket, string reason)
    {
        try
        {
            socket.Send(TcpWire.EncodeText(TcpWire.Refused, reason));
            socket.Shutdown(SocketShutdown.Send);
        }
        catch (SocketException)
        {
            socket.Dispose();
            return;
        }

        _ = Task.Run(() => Linger(socket));
    }

    private static void Linger(Socket socket)
    {
        try
        {
            var sink = new byte[4096];
            var until = DateTime.UtcNow + TimeSpan.FromMilliseconds(500);
            while (DateTime.UtcNow < until && socket.Poll(TimeSpan.FromMilliseconds(50), SelectMode.SelectRead))
            {
                if (socket.Receive(sink) == 0)
                {
                    break;
                }
            }
        }
        catch (SocketException)
        {
        }
        finally
        {
            socket.Dispose();
        }
    }

    private static CollectiveException Error(CollectiveErrorKind kind, HandshakeContext context, int failedRank, string detail) =>
        new(kind, context.Group, context.Rank, failedRank, detail);

    private sealed record HandshakeContext(string Group, int World, int Rank, string Token, int MaxFrameBytes)
    {
        public string? Check(in TcpWire.HelloMessage hello, Func<int, bool> expected, Socket?[] peers, bool needsListen)
        {
            if (hello.Group != Group)
            {
                return $"this is group '{Group}', not '{hello.Group}'";
            }

            if (!CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(hello.Token), Encoding.UTF8.GetBytes(Token)))
            {
                return $"wrong token for group '{Group}'";
            }

            if (hello.WorldSize != World)
            {
                return $"world size {hello.WorldSize} differs from this group's {World}";
            }

            if (hello.MaxFrameBytes != MaxFrameBytes)
            {
                return $"frame limit {hello.MaxFrameBytes} differs from this group's {MaxFrameBytes}";
            }

            if ((uint)hello.Rank >= (uint)World || !expected(hello.Rank))
            {
                return $"rank {hello.Rank} is not expected to connect to rank {Rank}";
            }

            if (peers[hello.Rank] is not null)
            {
                return $"rank {hello.Rank} already joined";
            }

            return needsListen && hello.Listen is null ? $"rank {hello.Rank} announced no listening endpoint" : null;
        }
    }
}
