using System.Net;
using System.Net.Sockets;
using Ray.Gpu.Collectives;
using Ray.Gpu.Collectives.Tcp;
using Ray.Protocol;

namespace Ray.Gpu.Tests.Collectives;

/// <summary>Helpers for TCP groups whose ranks run as threads of the test process, and for raw peers speaking the wire.</summary>
internal static class TcpRanks
{
    public const string Token = "secret";

    /// <summary>Distinct loopback endpoints whose ports were free a moment ago.</summary>
    public static IPEndPoint[] FreeEndpoints(int count)
    {
        var probes = Enumerable.Range(0, count).Select(_ => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp)).ToArray();
        try
        {
            foreach (Socket probe in probes)
            {
                probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            }

            return probes.Select(p => (IPEndPoint)p.LocalEndPoint!).ToArray();
        }
        finally
        {
            foreach (Socket probe in probes)
            {
                probe.Dispose();
            }
        }
    }

    /// <summary>Joins one rank on a dedicated thread (joining blocks).</summary>
    public static Task<CollectiveGroup> JoinAsync(string name, int world, int rank, TcpRendezvous rendezvous, CollectiveGroupOptions? options = null) =>
        Task.Factory.StartNew(
            () => CollectiveGroup.JoinTcp(name, world, rank, rendezvous, options),
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);

    /// <summary>Joins every rank of a group through a list of endpoints.</summary>
    public static async Task<CollectiveGroup[]> JoinAllAsync(int world, CollectiveGroupOptions? options = null)
    {
        string name = "tcp-" + Guid.NewGuid().ToString("N");
        TcpRendezvous rendezvous = TcpRendezvous.FromEndpoints(FreeEndpoints(world), Token);
        return await Task.WhenAll(Enumerable.Range(0, world).Select(r => JoinAsync(name, world, r, rendezvous, options)))
            .WaitAsync(TimeSpan.FromSeconds(30));
    }

    /// <summary>A raw client: connects and sends a hello (as rank <paramref name="rank"/>).</summary>
    public static Socket ConnectRaw(IPEndPoint endpoint, string group, int world, int rank, string token, int maxFrame = 4 << 20)
    {
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                socket.Connect(endpoint);
                socket.Send(TcpWire.EncodeHello(new TcpWire.HelloMessage(group, token, world, rank, maxFrame, (IPEndPoint)socket.LocalEndPoint!)));
                return socket;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                socket.Dispose();
                Thread.Sleep(20);
            }
        }
    }

    /// <summary>Reads frames until the peer closes; returns their kinds and payloads.</summary>
    public static List<(ushort Kind, byte[] Payload)> ReadUntilClosed(Socket socket, TimeSpan timeout)
    {
        var frames = new List<(ushort, byte[])>();
        var parser = new FrameParser(64 << 20);
        DateTime deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                (FrameHeader header, byte[] payload) = TcpWire.ReadFrame(socket, parser, deadline);
                frames.Add((header.Kind, payload));
            }
            catch (IOException)
            {
                return frames; // closed
            }
            catch (SocketException)
            {
                return frames; // reset
            }
        }
    }
}
