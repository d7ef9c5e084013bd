using Ray.Contract.Messages;
using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Ray.Cluster.Wire;
using Ray.Protocol;
using Ray.Tests.Shared;

using static Ray.Cluster.Tests.WorkerFrames;

namespace Ray.Cluster.Tests;

/// <summary>
/// Connections that never say Hello, thousands of them, against a real raylet and a real
/// worker: they wait in a small pending pool of their own (oldest evicted, closed after the
/// handshake timeout), so a driver keeps starting workers, a new driver joins, and a worker's
/// socket keeps a slot for its driver. A worker parses at most 4 KiB before WorkerHello.
/// </summary>
[Collection("cluster")]
public sealed class ConnectionFloodTests
{
    /// <summary>The next <paramref name="count"/> frames (fewer when the peer closes first).</summary>
    private static async Task<List<(FrameHeader Header, byte[] Payload)>> ReadFramesAsync(Socket s, int count, TimeSpan timeout)
    {
        var parser = new FrameParser(1 << 20);
        var frames = new List<(FrameHeader, byte[])>();
        var pending = Array.Empty<byte>();
        var chunk = new byte[65536];
        using var cts = new CancellationTokenSource(timeout);
        while (true)
        {
            var seq = new ReadOnlySequence<byte>(pending);
            while (frames.Count < count && parser.TryParseFrame(ref seq, out var frame)) frames.Add((frame.Header, frame.Payload.ToArray()));
            pending = seq.ToArray();
            if (frames.Count == count) return frames;
            int n;
            try { n = await s.ReceiveAsync(chunk, SocketFlags.None, cts.Token); }
            catch (OperationCanceledException) { throw new TimeoutException($"{frames.Count} of {count} frames within {timeout.TotalSeconds:0.#} s"); }
            catch (SocketException) { return frames; }
            if (n == 0) return frames;
            pending = [.. pending, .. chunk.AsSpan(0, n)];
        }
    }

    /// <summary>True when the peer closes <paramref name="s"/> (EOF or reset) within the timeout.</summary>
    private static async Task<bool> ClosedWithinAsync(Socket s, TimeSpan timeout)
    {
        var buf = new byte[4096];
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            while (true)
                if (await s.ReceiveAsync(buf, SocketFlags.None, cts.Token) == 0) return true;
        }
        catch (OperationCanceledException) { return false; }
        catch (SocketException) { return true; }
    }

    private static Socket ConnectUnix(string path)
    {
        var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        s.Connect(new UnixDomainSocketEndPoint(path));
        return s;
    }

    [Fact]
    public async Task Thousands_of_connections_without_Hello_do_not_stop_a_driver_starting_workers_or_a_new_driver_joining()
    {
        await using var cluster = await ClusterScope.StartAsync();
        await using var ray = cluster.Connect();
        Assert.Equal(3, await ray.Task(Fns.Add).Remote(1, 2));

        var endpoint = IPEndPoint.Parse(cluster.Address);
        var count = Math.Min(4200, ConnectionFlood.Budget(reserve: 1024));
        Assert.True(count >= 4100, $"this test needs about 5,300 file descriptors; {count + 1024} are left (ulimit -n)");
        using var flood = await ConnectionFlood.OpenAsync(endpoint, count, parallel: 128);
        Assert.True(flood.Opened >= 4097, $"only {flood.Opened} flood connections opened");

        // Meanwhile more keep coming (each held 200 ms), so waiting out a handshake timeout is no way in.
        using var stop = new CancellationTokenSource();
        var more = Task.Run(async () =>
        {
            var held = new Queue<Socket>();
            var opened = 0;
            while (!stop.IsCancellationRequested && opened < 20_000)
            {
                var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                try { await s.ConnectAsync(endpoint, stop.Token); opened++; held.Enqueue(s); }
                catch (Exception e) when (e is SocketException or OperationCanceledException) { s.Dispose(); }
                while (held.Count > 40) held.Dequeue().Dispose();
                await Task.Delay(5);
            }
            while (held.Count > 0) held.Dequeue().Dispose();
        });
        try
        {
            var sw = Stopwatch.StartNew();
            // The connected driver starts a new worker (an actor's), which registers over TCP.
            var counter = ray.Actor<Counter>().Remote(5L);
            Assert.Equal(6L, await counter.Task((Counter c, long x) => c.Add(x)).Remote(1L).AsTask().WaitAsync(TimeSpan.FromSeconds(30)));
            // A new driver joins and runs tasks.
            await using var second = await Task.Run(cluster.Connect).WaitAsync(TimeSpan.FromSeconds(30));
            var refs = Enumerable.Range(0, 50).Select(i => second.Task(Fns.Add).Remote(i, 1)).ToArray();
            Assert.Equal(Enumerable.Range(1, 50), second.Get(refs, TimeSpan.FromSeconds(30)));
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(30), $"took {sw.Elapsed}");
            // The raylet closed what did not fit in its pending pool.
            Assert.True(flood.CountClosedByPeer() >= flood.Opened - 300, "the raylet kept the flood's connections open");
        }
        finally
        {
            await stop.CancelAsync();
            await more;
        }
        Assert.Equal(3, await ray.Task(Fns.Add).Remote(2, 1));
    }

    [Fact]
    public async Task A_worker_socket_keeps_slots_for_its_driver_closes_silent_connections_and_parses_4_KiB_before_WorkerHello()
    {
        await using var cluster = await ClusterScope.StartAsync();
        await using var ray = cluster.Connect();
        Assert.Equal(3, await ray.Task(Fns.Add).Remote(1, 2));
        var worker = Directory.GetFiles(Path.Combine(cluster.SessionDir, "sockets"), "worker_*")[0];

        // 100 idle connections (16 sessions used to be the cap, counting these) ...
        using var flood = await ConnectionFlood.OpenAsync(new UnixDomainSocketEndPoint(worker), 100, parallel: 8);
        Assert.True(flood.Opened > 16, $"only {flood.Opened} connections opened");
        // ... and a connection with the job's token still gets its session.
        using (var good = ConnectUnix(worker))
        {
            await good.SendAsync(Frame((ushort)ClusterMessageKind.WorkerHello, 1, WorkerHello(cluster.Token, 1)), SocketFlags.None);
            var reply = await ReadFramesAsync(good, 1, TimeSpan.FromSeconds(10));
            Assert.True(reply.Count == 1, "the worker closed a connection with the right token");
            Assert.Equal(FrameFlags.Reply, reply[0].Header.Flags);
        }

        // The header of a 1 MiB frame before WorkerHello: closed at once, nothing buffered.
        using (var big = ConnectUnix(worker))
        {
            var header = new byte[FrameHeader.Size];
            new FrameHeader(1 << 20, (ushort)ClusterMessageKind.WorkerHello, FrameFlags.None, 1).Write(header);
            await big.SendAsync(header, SocketFlags.None);
            Assert.True(await ClosedWithinAsync(big, TimeSpan.FromSeconds(3)), "a 1 MiB frame before WorkerHello was accepted");
        }

        // WorkerHello with an 8 KiB frame and a task right behind it, in one write: the big frame
        // is parsed with the limit raised by the Hello (the task's reply says its function failed to load).
        using (var piped = ConnectUnix(worker))
        {
            var define = (byte[])[.. BitConverter.GetBytes(7), .. Utf8Field(new string('a', 8000)), .. Utf8Field("T"), .. BitConverter.GetBytes(1), .. Utf8Field("M")];
            var push = new byte[4 + 16 + 2];
            BinaryPrimitives.WriteInt32LittleEndian(push, 7);
            await piped.SendAsync((byte[])[
                .. Frame((ushort)ClusterMessageKind.WorkerHello, 1, WorkerHello(cluster.Token, 1)),
                .. Frame((ushort)ClusterMessageKind.DefineFunction, 0, define, FrameFlags.NoReply),
                .. Frame((ushort)ClusterMessageKind.PushTask, 2, push)], SocketFlags.None);
            var replies = await ReadFramesAsync(piped, 2, TimeSpan.FromSeconds(10));
            Assert.True(replies.Count == 2, $"closed after {replies.Count} replies instead of answering the task behind an 8 KiB frame");
            Assert.Equal(FrameFlags.Reply, replies[0].Header.Flags);
            var (header, payload) = replies[1];
            Assert.Equal(2UL, header.RequestId);
            Assert.Contains("cannot load", Encoding.UTF8.GetString(payload));
        }

        // A silent connection (the flood's are evicted or timed out by now): closed by the
        // handshake timeout (10 s, swept every 0.5 s), freeing its slot.
        await Task.Delay(500);
        using var silent = ConnectUnix(worker);
        var sw = Stopwatch.StartNew();
        Assert.True(await ClosedWithinAsync(silent, TimeSpan.FromSeconds(25)), "a connection that never said WorkerHello stayed open");
        Assert.True(sw.Elapsed > TimeSpan.FromSeconds(8), $"closed after {sw.Elapsed}, before the handshake timeout");
        // The driver's own session was never disturbed.
        var refs = Enumerable.Range(0, 100).Select(i => ray.Task(Fns.Add).Remote(i, 1)).ToArray();
        Assert.Equal(Enumerable.Range(1, 100), ray.Get(refs, TimeSpan.FromSeconds(30)));
    }
}
