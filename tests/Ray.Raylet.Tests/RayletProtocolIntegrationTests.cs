using System.Buffers.Binary;
using Ray.Protocol;
using Ray.Raylet.Client;
using Ray.Contract.Messages;
using Ray.Raylet.Session;

namespace Ray.Raylet.Tests;

/// <summary>
/// Hostile and mistaken peers against a real raylet process: each is refused or disconnected
/// with a logged reason, and a well-behaved client connected all along keeps being served.
/// </summary>
public class RayletProtocolIntegrationTests
{
    private static readonly TimeSpan CloseTimeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Wrong_token_or_version_gets_an_error_reply_and_a_close_while_a_good_client_keeps_working()
    {
        await using var scope = new RayletScope();
        var (info, _) = await scope.StartAsync();
        await using var good = await RayletClient.ConnectAsync(info.Address, info.Token);
        Assert.Equal(info.NodeId, good.Hello.NodeId);
        Assert.Equal(info.PlasmaSocket, good.Hello.PlasmaSocketPath);

        // Wrong token.
        await using (var raw = await RawRayletConnection.ConnectAsync(info.Address))
        {
            await raw.SendAsync(RawRayletConnection.HelloFrame(new string('f', 32), requestId: 7));
            var (code, message) = await raw.ReadErrorAsync((ushort)ClusterMessageKind.Hello, 7);
            Assert.Equal(ClusterErrorCode.Unauthenticated, code);
            Assert.Contains("wrong cluster token", message);
            Assert.True(await raw.ClosedByPeerAsync(CloseTimeout), "the raylet kept a connection with a wrong token open");
        }

        // Right token, wrong version.
        await using (var raw = await RawRayletConnection.ConnectAsync(info.Address))
        {
            await raw.SendAsync(RawRayletConnection.HelloFrame(info.Token, version: 99, requestId: 8));
            var (code, message) = await raw.ReadErrorAsync((ushort)ClusterMessageKind.Hello, 8);
            Assert.Equal(ClusterErrorCode.VersionMismatch, code);
            Assert.Contains("version 99", message);
            Assert.True(await raw.ClosedByPeerAsync(CloseTimeout));
        }

        // Anything before Hello, even a well-formed Status or Shutdown.
        foreach (var kind in new[] { ClusterMessageKind.Status, ClusterMessageKind.Shutdown })
        {
            await using var raw = await RawRayletConnection.ConnectAsync(info.Address);
            await raw.SendAsync(RawRayletConnection.Frame((ushort)kind, FrameFlags.None, 9, []));
            var (code, message) = await raw.ReadErrorAsync((ushort)kind, 9);
            Assert.Equal(ClusterErrorCode.ProtocolError, code);
            Assert.Contains("before Hello", message);
            Assert.True(await raw.ClosedByPeerAsync(CloseTimeout));
        }

        // The client API surfaces the refusal as a typed exception.
        var refused = await Assert.ThrowsAsync<RayletException>(() => RayletClient.ConnectAsync(info.Address, "not-the-token"));
        Assert.Equal(ClusterErrorCode.Unauthenticated, refused.RayletCode);
        Assert.Equal(RayErrorCode.Protocol, refused.Code);

        // The good client was never disturbed, and the raylet counts only authenticated clients.
        var status = await good.GetStatusAsync();
        Assert.Equal(1, status.Clients);
        Assert.True(RayletProcess.IsRaylet(info.Pid));
        var log = scope.Log();
        Assert.Contains("wrong cluster token", log);
        Assert.Contains("speaks raylet protocol version 99", log);
    }

    [Fact]
    public async Task Malformed_frames_close_only_their_own_connection()
    {
        await using var scope = new RayletScope();
        var (info, _) = await scope.StartAsync();
        await using var good = await RayletClient.ConnectAsync(info.Address, info.Token);

        var oversizedBeforeHello = Header(ClusterProtocol.MaxHelloPayload + 1, (ushort)ClusterMessageKind.Hello, 0, 1);
        var oversized = Header(ClusterProtocol.MaxPayload + 1, (ushort)ClusterMessageKind.Status, 0, 2);
        var negative = Header(-5, (ushort)ClusterMessageKind.Status, 0, 3);
        var badFlags = Header(0, (ushort)ClusterMessageKind.Status, 0x80, 4);
        var truncatedHello = RawRayletConnection.Frame((ushort)ClusterMessageKind.Hello, FrameFlags.None, 5, [1, 0, 0, 0, 100, 0, (byte)'x']); // string says 100 bytes
        var unknownKind = RawRayletConnection.Frame(999, FrameFlags.None, 6, []);
        var statusWithPayload = RawRayletConnection.Frame((ushort)ClusterMessageKind.Status, FrameFlags.None, 7, [1, 2, 3]);
        var replyFlag = RawRayletConnection.Frame((ushort)ClusterMessageKind.Status, FrameFlags.Reply, 8, []);
        var garbage = new byte[64];
        new Random(3).NextBytes(garbage);
        var halfFrame = RawRayletConnection.Frame((ushort)ClusterMessageKind.Status, FrameFlags.None, 9, [])[..10];

        var cases = new (string Name, bool Hello, byte[] Bytes, bool ExpectErrorReply)[]
        {
            ("oversized before Hello", false, oversizedBeforeHello, false),
            ("oversized after Hello", true, oversized, false),
            ("negative length", true, negative, false),
            ("unknown flags", true, badFlags, false),
            ("truncated Hello", false, truncatedHello, true),
            ("unknown kind", true, unknownKind, true),
            ("Status with a payload", true, statusWithPayload, true),
            ("a reply sent as a request", true, replyFlag, true),
            ("random bytes", false, garbage, false),
        };
        foreach (var (name, hello, bytes, expectError) in cases)
        {
            await using var raw = await RawRayletConnection.ConnectAsync(info.Address);
            if (hello) await raw.HelloAsync(info.Token);
            await raw.SendAsync(bytes);
            if (expectError)
            {
                var frame = await raw.ReadFrameAsync(CloseTimeout);
                Assert.True(frame is not null && (frame.Value.Header.Flags & FrameFlags.Error) != 0, $"{name}: expected an error reply");
            }
            Assert.True(await raw.ClosedByPeerAsync(CloseTimeout), $"{name}: the raylet kept the connection open");
            var status = await good.GetStatusAsync(); // the good client is served after each
            Assert.Equal(info.NodeId, status.Nodes[0].NodeId);
        }

        // A peer that disconnects mid-frame.
        await using (var raw = await RawRayletConnection.ConnectAsync(info.Address))
        {
            await raw.HelloAsync(info.Token);
            await raw.SendAsync(halfFrame);
        }

        // Seeded random and mutated frames, each on its own connection, half after a good Hello.
        var rng = new Random(4242);
        for (var i = 0; i < 40; i++)
        {
            await using var raw = await RawRayletConnection.ConnectAsync(info.Address);
            if (i % 2 == 0) await raw.HelloAsync(info.Token);
            var frame = RawRayletConnection.Frame((ushort)rng.Next(0, 6), (FrameFlags)rng.Next(0, 8), (ulong)i, TestUtil.RandomBytes(rng.Next(0, 40), rng));
            for (var m = rng.Next(0, 3); m > 0; m--) frame[rng.Next(frame.Length)] ^= (byte)(1 << rng.Next(8));
            await raw.SendAsync(frame);
            try { await raw.ReadFrameAsync(TimeSpan.FromMilliseconds(200)); } catch (TimeoutException) { } catch (ProtocolException) { }
        }

        // Closed fuzz connections leave the count; only the good client remains.
        var clients = -1;
        await TestUtil.EventuallyAsync(async () => (clients = (await good.GetStatusAsync()).Clients) == 1,
            TimeSpan.FromSeconds(10), () => $"{clients} clients counted, expected 1");
        Assert.True(RayletProcess.IsRaylet(info.Pid), "the raylet died");
        var log = scope.Log();
        Assert.Contains("protocol error: frame payload of", log);
        Assert.Contains("unknown message kind 999", log);
        Assert.Contains("peer closed mid-frame", log);
    }

    private static byte[] Header(int length, ushort kind, ushort flags, ulong requestId)
    {
        var h = new byte[FrameHeader.Size];
        BinaryPrimitives.WriteInt32LittleEndian(h, length);
        BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(4), kind);
        BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(6), flags);
        BinaryPrimitives.WriteUInt64LittleEndian(h.AsSpan(8), requestId);
        return h;
    }
}
