using System.Net.Sockets;
using Ray.Protocol;
using Ray.Tests.Shared;

namespace Ray.Raylet.Tests.Connections;

/// <summary>
/// The one framed connection, with both receive drivers (async loop, receive thread) and both
/// send paths (outbox, caller's flush): framing, limits and close semantics over real sockets.
/// </summary>
public sealed class FramedConnectionTests
{
    private static readonly TimeSpan Wait = ConnectionKit.Wait;

    [Theory]
    [MemberData(nameof(ConnectionKit.Modes), MemberType = typeof(ConnectionKit))]
    public async Task Frames_round_trip_whole_split_and_batched(string driver, bool callerSends)
    {
        var (connection, peer) = await ConnectionKit.StartAsync(driver, callerSends);
        await using var _ = peer;
        var payloads = new[] { Array.Empty<byte>(), [1, 2, 3], new byte[70_000], Enumerable.Range(0, 5000).Select(i => (byte)i).ToArray() };
        // Batched: every frame in one write.
        var all = payloads.SelectMany((p, i) => RawFrameSocket.Frame(TestConnection.Echo, FrameFlags.None, (ulong)i + 1, p)).ToArray();
        await peer.SendAsync(all);
        // Split: one frame a byte at a time (the header too).
        foreach (var b in RawFrameSocket.Frame(TestConnection.Echo, FrameFlags.None, 99, payloads[3])[..40]) await peer.SendAsync([b]);
        await peer.SendAsync(RawFrameSocket.Frame(TestConnection.Echo, FrameFlags.None, 99, payloads[3])[40..]);
        var echoed = new Dictionary<ulong, byte[]>();
        for (var i = 0; i < payloads.Length + 1; i++)
        {
            var frame = await peer.ReadFrameAsync(Wait);
            Assert.NotNull(frame);
            Assert.Equal(FrameFlags.Reply, frame.Value.Header.Flags);
            echoed[frame.Value.Header.RequestId] = frame.Value.Payload;
        }
        for (var i = 0; i < payloads.Length; i++) Assert.Equal(payloads[i], echoed[(ulong)i + 1]);
        Assert.Equal(payloads[3], echoed[99]);
        Assert.All(connection.HandledOn, h => Assert.True(h.InReceiveContext));
        Assert.False(FramedConnection.InReceiveContext);
        Assert.Null(connection.CloseReason);
        connection.Close("test over");
        Assert.True(await peer.ClosedByPeerAsync(Wait));
        await connection.Completion.WaitAsync(Wait);
    }

    [Theory]
    [MemberData(nameof(ConnectionKit.Modes), MemberType = typeof(ConnectionKit))]
    public async Task A_malformed_frame_closes_with_the_reason_once(string driver, bool callerSends)
    {
        var (connection, peer) = await ConnectionKit.StartAsync(driver, callerSends);
        await using var _ = peer;
        var bad = RawFrameSocket.Frame(TestConnection.Echo, FrameFlags.None, 1, [9]);
        bad[6] = 0x80; // unknown flag bits
        await peer.SendAsync(bad);
        var reason = await connection.Closed.WaitAsync(Wait);
        Assert.StartsWith("protocol error: unknown frame flags 0x80", reason);
        Assert.Equal(reason, connection.CloseReason);
        Assert.True(ConnectionRejections.IsBadInput(reason));
        Assert.True(await peer.ClosedByPeerAsync(Wait));
        await connection.Completion.WaitAsync(Wait);
        connection.Close("again"); // later closes change nothing
        await connection.CloseAsync("and again").WaitAsync(Wait);
        Assert.Equal(1, connection.ClosedCalls);
        Assert.Equal(reason, connection.CloseReason);
    }

    [Theory]
    [MemberData(nameof(ConnectionKit.Modes), MemberType = typeof(ConnectionKit))]
    public async Task An_oversized_payload_is_refused_before_it_arrives_and_the_limit_can_rise(string driver, bool callerSends)
    {
        var (connection, peer) = await ConnectionKit.StartAsync(driver, callerSends, maxPayload: 1024);
        await using var _ = peer;
        // Raised to 4 KiB: a 3 KiB frame pipelined right behind the raise gets the new limit.
        await peer.SendAsync([
            .. RawFrameSocket.Frame(TestConnection.Raise, FrameFlags.NoReply, 1, [4]),
            .. RawFrameSocket.Frame(TestConnection.Echo, FrameFlags.None, 2, new byte[3072]),
        ]);
        var echoed = await peer.ReadFrameAsync(Wait);
        Assert.Equal(3072, echoed!.Value.Payload.Length);
        // Only the header of an 8 KiB frame: refused on its header, nothing buffered first.
        var header = new byte[FrameHeader.Size];
        new FrameHeader(8192, TestConnection.Echo, FrameFlags.None, 3).Write(header);
        await peer.SendAsync(header);
        var reason = await connection.Closed.WaitAsync(Wait);
        Assert.Contains("frame payload of 8192 bytes is outside 0..4096", reason);
        Assert.True(await peer.ClosedByPeerAsync(Wait));
    }

    [Theory]
    [MemberData(nameof(ConnectionKit.Modes), MemberType = typeof(ConnectionKit))]
    public async Task An_error_reply_reaches_the_peer_before_the_FIN_even_with_unread_input(string driver, bool callerSends)
    {
        var (connection, peer) = await ConnectionKit.StartAsync(driver, callerSends);
        await using var _ = peer;
        // The refused request and a lot more behind it in one write: the connection closes with
        // input unread, which without the lingering read would send a RST that can destroy the
        // error reply before the peer reads it.
        var burst = RawFrameSocket.Frame(TestConnection.Refuse, FrameFlags.None, 7, [])
            .Concat(Enumerable.Range(0, 200).SelectMany(i => RawFrameSocket.Frame(TestConnection.Echo, FrameFlags.None, (ulong)i + 100, new byte[1000])))
            .ToArray();
        var sending = peer.Socket.SendAsync(burst, SocketFlags.None); // not awaited: the connection stops reading part way
        Assert.Equal("protocol error: refused by the test", await connection.Closed.WaitAsync(Wait));
        await Task.Delay(100); // the peer reads late: the error reply waits in its socket
        var reply = await peer.ReadFrameAsync(Wait);
        Assert.NotNull(reply);
        Assert.Equal(FrameFlags.Reply | FrameFlags.Error, reply.Value.Header.Flags);
        Assert.Equal(7ul, reply.Value.Header.RequestId);
        Assert.Equal("refused"u8.ToArray(), reply.Value.Payload);
        // Then the end of the stream, and no reset: the connection read and dropped the rest
        // before it closed its socket, so this side can still write (a reset would fail it).
        using var cts = new CancellationTokenSource(Wait);
        Assert.Equal(0, await peer.Socket.ReceiveAsync(new byte[16], SocketFlags.None, cts.Token));
        await sending;
        await connection.Completion.WaitAsync(Wait);
        await Task.Delay(50);
        Assert.Equal(1, peer.Socket.Send([0]));
    }

    [Theory]
    [MemberData(nameof(ConnectionKit.Modes), MemberType = typeof(ConnectionKit))]
    public async Task A_close_flushes_queued_frames_before_the_FIN_and_fails_pending_requests(string driver, bool callerSends)
    {
        var (connection, peer) = await ConnectionKit.StartAsync(driver, callerSends);
        await using var _ = peer;
        var pending = Enumerable.Range(0, 50).Select(i => connection.Request(TestConnection.Echo, new byte[2000])).ToArray();
        await connection.CloseAsync("closed by the test").WaitAsync(Wait);
        // Every request went out before the FIN, though none was answered.
        for (var i = 0; i < pending.Length; i++)
        {
            var frame = await peer.ReadFrameAsync(Wait);
            Assert.NotNull(frame);
            Assert.Equal(2000, frame.Value.Payload.Length);
        }
        Assert.Null(await peer.ReadFrameAsync(Wait));
        foreach (var request in pending)
        {
            var error = await Assert.ThrowsAsync<IOException>(() => request.WaitAsync(Wait));
            Assert.Equal("closed: closed by the test", error.Message);
        }
        await Assert.ThrowsAsync<IOException>(() => connection.Request(TestConnection.Echo, []).WaitAsync(Wait)); // and every later one
        Assert.False(connection.Send(TestConnection.Echo, FrameFlags.None, 1, [])); // the outbox is shut
        await connection.Completion.WaitAsync(Wait);
        Assert.Equal(1, connection.ClosedCalls);
    }

    [Theory]
    [MemberData(nameof(ConnectionKit.Modes), MemberType = typeof(ConnectionKit))]
    public async Task The_peer_going_away_mid_frame_is_named_and_fails_pending(string driver, bool callerSends)
    {
        var (connection, peer) = await ConnectionKit.StartAsync(driver, callerSends);
        var request = connection.Request(TestConnection.Echo, [1]);
        Assert.NotNull(await peer.ReadFrameAsync(Wait));
        await peer.SendAsync(RawFrameSocket.Frame(TestConnection.Echo, FrameFlags.None, 5, new byte[100])[..50]);
        await Task.Delay(50);
        await peer.DisposeAsync();
        Assert.Equal("peer closed mid-frame (50 bytes left)", await connection.Closed.WaitAsync(Wait));
        await Assert.ThrowsAsync<IOException>(() => request.WaitAsync(Wait));
        await connection.Completion.WaitAsync(Wait);
    }

    [Theory]
    [InlineData("async")]
    [InlineData("thread")]
    public async Task Both_send_paths_at_once_never_interleave_their_bytes(string driver)
    {
        var (ours, theirs) = await ConnectionKit.PairAsync();
        var connection = new TestConnection(ours, 1 << 20, ConnectionKit.Driver(driver), callerSends: true);
        connection.Start();
        await using var peer = new RawPeer(theirs);
        const int PerSender = 40;
        // Two threads flush by hand, two queue through the outbox; payloads say who sent them.
        // Frames are large and the peer reads late, so socket writes end part way (the buffers
        // are full) and two writers without the gate would interleave.
        var senders = Enumerable.Range(0, 4).Select(s => Task.Run(() =>
        {
            for (var i = 0; i < PerSender; i++)
            {
                var payload = Enumerable.Repeat((byte)s, Size(i)).ToArray();
                var id = (ulong)(s * PerSender + i);
                if (s < 2)
                {
                    connection.Append(TestConnection.Echo, FrameFlags.NoReply, id, payload, static (w, p) => w.Raw(p));
                    connection.Flush();
                }
                else Assert.True(connection.Send(TestConnection.Echo, FrameFlags.NoReply, id, payload));
            }
        })).ToArray();
        await Task.Delay(300);
        var seen = new HashSet<ulong>();
        for (var n = 0; n < 4 * PerSender; n++)
        {
            var frame = await peer.ReadFrameAsync(Wait);
            Assert.NotNull(frame);
            var id = frame.Value.Header.RequestId;
            Assert.True(seen.Add(id));
            var sender = (byte)(id / PerSender);
            Assert.Equal(Size((int)(id % PerSender)), frame.Value.Payload.Length);
            Assert.True(frame.Value.Payload.All(b => b == sender), $"frame {id} holds bytes of another sender: interleaved writes");
        }
        await Task.WhenAll(senders).WaitAsync(Wait);
        connection.Close("test over");
        await connection.Completion.WaitAsync(Wait);

        static int Size(int i) => 20_000 + i * 4_999 % 180_000;
    }

    [Theory]
    [InlineData("async")]
    [InlineData("thread")]
    public async Task A_connection_closed_before_it_started_releases_its_socket(string driver)
    {
        var (ours, theirs) = await ConnectionKit.PairAsync();
        var connection = new TestConnection(ours, 1024, ConnectionKit.Driver(driver), callerSends: true);
        await using var peer = new RawPeer(theirs);
        connection.Dispose();
        Assert.Equal("closed locally", await connection.Closed.WaitAsync(Wait));
        await connection.Completion.WaitAsync(Wait);
        Assert.True(await peer.ClosedByPeerAsync(Wait));
        Assert.Throws<ObjectDisposedException>(() => ours.Available);
    }
}
