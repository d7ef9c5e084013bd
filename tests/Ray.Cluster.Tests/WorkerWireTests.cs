using Ray.Contract.Messages;
using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;
using Ray.Cluster.Wire;
using Ray.Protocol;
using static Ray.Cluster.Tests.WorkerFrames;

namespace Ray.Cluster.Tests;

/// <summary>
/// Bad input on a worker's socket (a peer that is not the job's driver, garbage, truncated or
/// random frames) closes that connection only: the worker goes on serving its driver.
/// </summary>
[Collection("cluster")]
public sealed class WorkerWireTests
{
    /// <summary>Sends bytes and reads until the worker closes (or 5 s pass); returns what came back.</summary>
    private static byte[] SendAndDrain(string socketPath, params byte[][] chunks)
    {
        using var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        s.Connect(new UnixDomainSocketEndPoint(socketPath));
        s.ReceiveTimeout = 5000;
        try { foreach (var c in chunks) s.Send(c); }
        catch (SocketException) { /* closed on us half way: fine */ }
        var got = new List<byte>();
        var buf = new byte[4096];
        try
        {
            while (true)
            {
                var n = s.Receive(buf);
                if (n == 0) break;
                got.AddRange(buf.AsSpan(0, n).ToArray());
            }
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.TimedOut or SocketError.WouldBlock)
        {
            Assert.Fail("the worker kept a bad connection open for 5 s");
        }
        catch (SocketException) { /* reset: closed */ }
        return got.ToArray();
    }

    [Fact]
    public async Task Bad_peers_and_bad_frames_close_only_their_connection()
    {
        await using var cluster = await ClusterScope.StartAsync();
        await using var ray = cluster.Connect();
        Assert.Equal(3, await ray.Task(Fns.Add).Remote(1, 2));
        var sockets = Directory.GetFiles(Path.Combine(cluster.SessionDir, "sockets"), "worker_*");
        Assert.NotEmpty(sockets);
        var worker = sockets[0];

        // A wrong token: an error reply, then the close.
        var reply = SendAndDrain(worker, Frame((ushort)ClusterMessageKind.WorkerHello, 1, WorkerHello("wrong", 1)));
        Assert.True(reply.Length >= FrameHeader.Size);
        var h = FrameHeader.Read(reply);
        Assert.True((h.Flags & FrameFlags.Error) != 0);
        Assert.Contains("token", Encoding.UTF8.GetString(reply, FrameHeader.Size + 2, reply.Length - FrameHeader.Size - 2));

        // The right token for another job is refused too.
        reply = SendAndDrain(worker, Frame((ushort)ClusterMessageKind.WorkerHello, 1, WorkerHello(cluster.Token, 999)));
        Assert.True((FrameHeader.Read(reply).Flags & FrameFlags.Error) != 0);

        // A task before WorkerHello, garbage, an oversized length, a truncated frame: closed.
        SendAndDrain(worker, Frame((ushort)ClusterMessageKind.PushTask, 1, new byte[30]));
        SendAndDrain(worker, Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
        var huge = new byte[FrameHeader.Size];
        new FrameHeader(int.MaxValue, (ushort)ClusterMessageKind.PushTask, FrameFlags.None, 1).Write(huge);
        SendAndDrain(worker, huge);

        // After a good hello: malformed tasks (unknown function, truncated payload, random bytes) close it.
        var hello = Frame((ushort)ClusterMessageKind.WorkerHello, 1, WorkerHello(cluster.Token, 1));
        SendAndDrain(worker, hello, Frame((ushort)ClusterMessageKind.PushTask, 2, new byte[] { 7, 0, 0, 0, 1 }));
        SendAndDrain(worker, hello, Frame((ushort)ClusterMessageKind.ActorCall, 2, new byte[24]));
        var rng = new Random(1234);
        for (var i = 0; i < 40; i++)
        {
            var payload = new byte[rng.Next(0, 200)];
            rng.NextBytes(payload);
            var kind = (ushort)rng.Next(99, 106);
            SendAndDrain(worker, hello, Frame(kind, (ulong)i, payload));
        }

        // The worker and the driver's runtime go on.
        Assert.All(sockets.Select(p => File.Exists(p)), Assert.True);
        var refs = Enumerable.Range(0, 200).Select(i => ray.Task(Fns.Add).Remote(i, 1)).ToArray();
        Assert.Equal(Enumerable.Range(1, 200), ray.Get(refs, TimeSpan.FromSeconds(30)));
    }
}
