using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Ray.Gpu.Collectives;
using Ray.Gpu.Collectives.Tcp;
using Ray.Gpu.TestRank;
using Ray.Protocol;

namespace Ray.Gpu.Tests.Collectives;

/// <summary>
/// Ranks joined over TCP (loopback): every operation against a reference, in separate processes
/// (rank 0's address) and as threads of this process (a list of endpoints); a rank killed with
/// SIGKILL; refused handshakes (wrong token, group, world size, garbage) and a malformed frame
/// after joining, each closing that connection with a clear error.
/// </summary>
public sealed class TcpCollectiveTests
{
    private static readonly TimeSpan ExitTimeout = TimeSpan.FromSeconds(60);

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public async Task ProcessesEveryOperationMatchesTheReference(int worldSize)
    {
        // Each rank runs every operation x {float, long} x {1, 7, 1000003}, direct and forced ring,
        // with 256 KiB frames (large messages span many frames).
        using var ranks = new RankProcesses("tcp-matrix", worldSize, rankZeroEndpoint: RankProcesses.FreeLoopbackEndpoint());
        for (int rank = 0; rank < worldSize; rank++)
        {
            (int exitCode, string output) = await ranks.WaitAsync(rank, ExitTimeout);
            Assert.True(exitCode == 0, $"rank {rank} exited {exitCode}:\n{output}");
            Assert.Contains("OK", output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task KilledRankProcessFailsEveryOtherRankWithRankDied()
    {
        // The 60 s group timeout proves the failure comes from the closed connection, not from waiting it out.
        using var ranks = new RankProcesses("tcp-loop", 3, timeoutSeconds: 60, rankZeroEndpoint: RankProcesses.FreeLoopbackEndpoint());
        await ranks.WaitForLineAsync(2, "READY", ExitTimeout);
        await Task.Delay(200);
        var clock = Stopwatch.StartNew();
        ranks[2].Kill(); // SIGKILL
        for (int rank = 0; rank < 2; rank++)
        {
            (int exitCode, string output) = await ranks.WaitAsync(rank, TimeSpan.FromSeconds(20));
            Assert.True(exitCode == 0, $"rank {rank} exited {exitCode}:\n{output}");
            Assert.Contains("CAUGHT RankDied 2", output, StringComparison.Ordinal);
            // Whichever notices first: the receive side (the connection closed) or a send to it.
            Assert.True(
                output.Contains("closed without a goodbye", StringComparison.Ordinal) || output.Contains("sending to rank 2", StringComparison.Ordinal),
                $"rank {rank} did not name the dead rank's connection:\n{output}");
        }

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"survivors took {clock.Elapsed} to fail");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    public async Task ThreadsEveryOperationMatchesTheReference(int worldSize)
    {
        CollectiveGroup[] groups = await TcpRanks.JoinAllAsync(worldSize, new CollectiveGroupOptions { TcpMaxFrameBytes = 64 * 1024 });
        try
        {
            int[] failures = await Task.WhenAll(groups.Select((g, r) => Task.Run(() => Matrix.RunAsync(g.GetCommunicator(r)))))
                .WaitAsync(ExitTimeout);
            Assert.All(failures, f => Assert.Equal(0, f));
        }
        finally
        {
            foreach (CollectiveGroup g in groups)
            {
                g.Dispose();
            }
        }
    }

    [Fact]
    public async Task WrongTokenIsRefusedWithReasonAndTheGroupStillForms()
    {
        IPEndPoint zero = TcpRanks.FreeEndpoints(1)[0];
        string name = "tcp-" + Guid.NewGuid().ToString("N");
        Task<CollectiveGroup> rank0 = TcpRanks.JoinAsync(name, 2, 0, TcpRendezvous.FromRankZero(zero, TcpRanks.Token));

        // A raw peer with the wrong token, another group name, another world size: each refused and closed.
        foreach ((string group, int world, string token, string reason) in new[]
        {
            (name, 2, "wrong", "wrong token"),
            ("other", 2, TcpRanks.Token, "not 'other'"),
            (name, 3, TcpRanks.Token, "world size 3"),
        })
        {
            using Socket raw = TcpRanks.ConnectRaw(zero, group, world, 1, token);
            var frames = TcpRanks.ReadUntilClosed(raw, TimeSpan.FromSeconds(10));
            (ushort kind, byte[] payload) = Assert.Single(frames);
            Assert.Equal(TcpWire.Refused, kind);
            Assert.Contains(reason, Encoding.UTF8.GetString(payload), StringComparison.Ordinal);
        }

        // A rank joining with the wrong token gets a typed refusal.
        var refused = await Assert.ThrowsAsync<CollectiveException>(() => TcpRanks.JoinAsync(name, 2, 1, TcpRendezvous.FromRankZero(zero, "wrong")));
        Assert.Equal(CollectiveErrorKind.Refused, refused.Kind);
        Assert.Contains("wrong token", refused.Message, StringComparison.Ordinal);

        using CollectiveGroup g1 = await TcpRanks.JoinAsync(name, 2, 1, TcpRendezvous.FromRankZero(zero, TcpRanks.Token));
        using CollectiveGroup g0 = await rank0.WaitAsync(TimeSpan.FromSeconds(30));
        var a = new[] { 1f, 2f };
        var b = new[] { 10f, 20f };
        await Task.WhenAll(g0.GetCommunicator(0).AllReduceAsync(a.AsMemory()).AsTask(), g1.GetCommunicator(1).AllReduceAsync(b.AsMemory()).AsTask());
        Assert.Equal(new[] { 11f, 22f }, a);
        Assert.Equal(new[] { 11f, 22f }, b);
    }

    [Fact]
    public async Task GarbageHandshakeIsRefusedAsMalformed()
    {
        IPEndPoint zero = TcpRanks.FreeEndpoints(1)[0];
        string name = "tcp-" + Guid.NewGuid().ToString("N");
        Task<CollectiveGroup> rank0 = TcpRanks.JoinAsync(name, 2, 0, TcpRendezvous.FromRankZero(zero, TcpRanks.Token), new CollectiveGroupOptions { Timeout = TimeSpan.FromSeconds(6) });
        using Socket raw = await ConnectWithRetryAsync(zero);
        var header = new byte[FrameHeader.Size];
        new FrameHeader(int.MaxValue, TcpWire.Hello, FrameFlags.None, 0).Write(header);
        raw.Send(header);
        (ushort kind, byte[] payload) = Assert.Single(TcpRanks.ReadUntilClosed(raw, TimeSpan.FromSeconds(10)));
        Assert.Equal(TcpWire.Refused, kind);
        Assert.Contains("malformed handshake", Encoding.UTF8.GetString(payload), StringComparison.Ordinal);

        // Nobody valid arrives: rank 0 times out naming rank 1.
        var timeout = await Assert.ThrowsAsync<CollectiveException>(() => rank0);
        Assert.Equal(CollectiveErrorKind.Timeout, timeout.Kind);
        Assert.Equal(1, timeout.FailedRank);
    }

    [Fact]
    public async Task MalformedFrameAfterJoiningFailsTheGroupAndClosesTheConnection()
    {
        IPEndPoint zero = TcpRanks.FreeEndpoints(1)[0];
        string name = "tcp-" + Guid.NewGuid().ToString("N");
        var options = new CollectiveGroupOptions { TcpMaxFrameBytes = 64 * 1024 };
        Task<CollectiveGroup> rank0 = TcpRanks.JoinAsync(name, 2, 0, TcpRendezvous.FromRankZero(zero, TcpRanks.Token), options);
        using Socket raw = TcpRanks.ConnectRaw(zero, name, 2, 1, TcpRanks.Token, maxFrame: 64 * 1024);
        using CollectiveGroup g0 = await rank0.WaitAsync(TimeSpan.FromSeconds(30));
        ValueTask pending = g0.GetCommunicator(0).AllReduceAsync(new float[10].AsMemory());

        // A frame above the group's limit (the parser refuses it before reading the payload).
        var header = new byte[FrameHeader.Size];
        new FrameHeader((64 * 1024) + TcpWire.DataHeaderSize + 1, TcpWire.Data, FrameFlags.None, 1).Write(header);
        raw.Send(header);
        var failed = await Assert.ThrowsAsync<CollectiveException>(() => pending.AsTask().WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(CollectiveErrorKind.ProtocolError, failed.Kind);
        Assert.Equal(1, failed.FailedRank);
        Assert.Contains("malformed frame", failed.Message, StringComparison.Ordinal);
        Assert.Contains("outside 0..", failed.Message, StringComparison.Ordinal);

        // The raw peer saw the welcome, rank 0's data, the failure, then the close.
        var kinds = TcpRanks.ReadUntilClosed(raw, TimeSpan.FromSeconds(10)).Select(f => f.Kind).ToList();
        Assert.Equal(TcpWire.Welcome, kinds[0]);
        Assert.Contains(TcpWire.Fail, kinds);
    }

    [Fact]
    public async Task MismatchTimeoutAndLeavingRankAreReportedOnEveryRank()
    {
        // Mismatched sizes: both ranks report the same first failure.
        CollectiveGroup[] groups = await TcpRanks.JoinAllAsync(2);
        var errors = await Task.WhenAll(
            Assert.ThrowsAsync<CollectiveException>(() => groups[0].GetCommunicator(0).AllReduceAsync(new long[5].AsMemory()).AsTask()),
            Assert.ThrowsAsync<CollectiveException>(() => groups[1].GetCommunicator(1).AllReduceAsync(new long[6].AsMemory()).AsTask()));
        Assert.All(errors, e => Assert.Equal(CollectiveErrorKind.Mismatch, e.Kind));
        Assert.Equal(errors[0].FailedRank, errors[1].FailedRank);
        foreach (CollectiveGroup g in groups)
        {
            g.Dispose();
        }

        // A rank that never calls: the other times out naming it, and tells it so.
        groups = await TcpRanks.JoinAllAsync(2, new CollectiveGroupOptions { Timeout = TimeSpan.FromSeconds(2) });
        var late = await Assert.ThrowsAsync<CollectiveException>(() => groups[0].GetCommunicator(0).BarrierAsync().AsTask());
        Assert.True(late.Kind == CollectiveErrorKind.Timeout, late.Message);
        Assert.True(late.FailedRank == 1, late.Message);
        await WaitUntilAsync(() => groups[1].IsFailed);
        var told = await Assert.ThrowsAsync<CollectiveException>(() => groups[1].GetCommunicator(1).BarrierAsync().AsTask());
        Assert.Equal(CollectiveErrorKind.Timeout, told.Kind);
        foreach (CollectiveGroup g in groups)
        {
            g.Dispose();
        }

        // A rank that leaves (disposes) while the other waits for it: GroupClosed naming it, not RankDied.
        groups = await TcpRanks.JoinAllAsync(2);
        Task waiting = groups[0].GetCommunicator(0).RecvAsync(new int[3].AsMemory(), 1).AsTask();
        groups[1].Dispose();
        var left = await Assert.ThrowsAsync<CollectiveException>(() => waiting.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(CollectiveErrorKind.GroupClosed, left.Kind);
        Assert.Equal(1, left.FailedRank);
        groups[0].Dispose();
    }

    [Fact]
    public async Task JoinSelectsTheTransportByOption()
    {
        IPEndPoint[] endpoints = TcpRanks.FreeEndpoints(2);
        var options = new CollectiveGroupOptions { Transport = CollectiveTransport.Tcp, TcpRendezvous = TcpRendezvous.FromEndpoints(endpoints, "t") };
        string name = "tcp-" + Guid.NewGuid().ToString("N");
        CollectiveGroup[] groups = await Task.WhenAll(Enumerable.Range(0, 2).Select(r => Task.Factory.StartNew(
            () => CollectiveGroup.Join(name, 2, r, options), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)));
        var data = new[] { new[] { 3.0, 1.0 }, new[] { 2.0, 5.0 } };
        await Task.WhenAll(groups.Select((g, r) => g.GetCommunicator(r).AllReduceAsync(data[r].AsMemory(), Ray.Gpu.Kernels.ReduceOp.Max).AsTask()));
        Assert.Equal(new[] { 3.0, 5.0 }, data[0]);
        Assert.Equal(new[] { 3.0, 5.0 }, data[1]);
        foreach (CollectiveGroup g in groups)
        {
            g.Dispose();
        }

        Assert.Throws<ArgumentException>(() => CollectiveGroup.Join(name, 2, 0, new CollectiveGroupOptions { Transport = CollectiveTransport.Tcp }));
    }

    private static async Task<Socket> ConnectWithRetryAsync(IPEndPoint endpoint)
    {
        for (int i = 0; ; i++)
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                await socket.ConnectAsync(endpoint);
                return socket;
            }
            catch (SocketException) when (i < 200)
            {
                socket.Dispose();
                await Task.Delay(20);
            }
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var clock = Stopwatch.StartNew();
        while (!condition() && clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(10);
        }
    }
}
