using System.Buffers;
using System.Buffers.Binary;
using System.Net.Sockets;
using Ray.Plasma.Client;
using Ray.Plasma.Server;
using Ray.Protocol;
using Ray.Tests.Shared;
using static Ray.Plasma.Tests.TestUtil;

namespace Ray.Plasma.Tests;

/// <summary>
/// The store's socket limits on a real Unix socket: a pending-Hello pool with a timeout, a cap
/// on connected clients, a 4 KiB frame limit before Hello, and Gets abandoned by a closed
/// connection leave the store (they used to stay forever, ~1.3 KB each).
/// </summary>
public class ConnectionLimitTests
{
    private static byte[] GetFrame(ulong requestId, PlasmaObjectId id, long timeoutUs)
    {
        var p = new byte[24];
        BinaryPrimitives.WriteUInt64LittleEndian(p, id.Owner);
        BinaryPrimitives.WriteUInt64LittleEndian(p.AsSpan(8), id.Sequence);
        BinaryPrimitives.WriteInt64LittleEndian(p.AsSpan(16), timeoutUs);
        return RawFrameSocket.Frame((ushort)PlasmaMessageKind.Get, FrameFlags.None, requestId, p);
    }

    [Fact]
    public async Task A_client_that_never_says_Hello_is_disconnected_after_the_handshake_timeout_and_a_flood_cannot_keep_clients_out()
    {
        await using var scope = ServerScope.Start(1 << 20, new PlasmaServerOptions { HandshakeTimeout = TimeSpan.FromSeconds(2), MaxPendingHandshakes = 16 });
        await using (var silent = await RawConnection.ConnectAsync(scope.SocketPath))
            Assert.True(await silent.ClosedByPeerAsync(TimeSpan.FromSeconds(10)), "a silent client stayed connected");

        using var flood = await ConnectionFlood.OpenAsync(new UnixDomainSocketEndPoint(scope.SocketPath), Math.Min(400, ConnectionFlood.Budget() / 2));
        await using var client = await PlasmaClient.ConnectAsync(scope.SocketPath).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(await client.ContainsAsync(Id(NewOwner(), 1)));
        Assert.Equal(1, scope.Server.AuthenticatedCount);
        // The flood is gone: evicted, then timed out; the connected client stays.
        await Eventually(() => scope.Server.ConnectionCount == 1, TimeSpan.FromSeconds(10), () => $"{scope.Server.ConnectionCount} connections");
        Assert.False(await client.ContainsAsync(Id(NewOwner(), 2)));
    }

    [Fact]
    public async Task Connected_clients_are_capped_and_a_Hello_beyond_the_cap_is_refused()
    {
        await using var scope = ServerScope.Start(1 << 20, new PlasmaServerOptions { MaxConnections = 2 });
        await using var a = await PlasmaClient.ConnectAsync(scope.SocketPath);
        await using var b = await PlasmaClient.ConnectAsync(scope.SocketPath);
        var e = await Assert.ThrowsAsync<PlasmaException>(() => PlasmaClient.ConnectAsync(scope.SocketPath));
        Assert.Equal(PlasmaStatus.TooManyConnections, e.Status);
        Assert.Contains("2 authenticated connections", e.Message);
        await a.DisposeAsync();
        await Eventually(() => scope.Server.AuthenticatedCount == 1, TimeSpan.FromSeconds(5), () => $"{scope.Server.AuthenticatedCount} connected");
        await using var c = await PlasmaClient.ConnectAsync(scope.SocketPath);
        Assert.False(await c.ContainsAsync(Id(NewOwner(), 1)));
    }

    [Fact]
    public async Task A_frame_over_4_KiB_before_Hello_closes_the_connection_and_one_after_it_is_parsed()
    {
        var log = new CapturingLogger();
        await using var scope = ServerScope.Start(1 << 20, logger: log);
        await using (var raw = await RawConnection.ConnectAsync(scope.SocketPath))
        {
            // Only the header of a 60 KiB frame: the store must not wait for the rest.
            var header = new byte[FrameHeader.Size];
            new FrameHeader(60 << 10, (ushort)PlasmaMessageKind.Hello, FrameFlags.None, 1).Write(header);
            await raw.SendAsync(header);
            Assert.True(await raw.ClosedByPeerAsync(TimeSpan.FromSeconds(5)), "a 60 KiB frame before Hello was buffered");
        }
        await using (var raw = await RawConnection.ConnectAsync(scope.SocketPath))
        {
            // Hello and, in the same write, a 10 KiB frame (an unknown kind): parsed with the raised limit,
            // so the store answers it as an unknown kind (close), not as an oversized frame.
            var big = RawFrameSocket.Frame(77, FrameFlags.None, 2, new byte[10 << 10]);
            await raw.SendAsync([.. RawConnection.HelloFrame(), .. big]);
            var hello = await raw.ReadFrameAsync(TimeSpan.FromSeconds(5));
            Assert.NotNull(hello);
            Assert.Equal(FrameFlags.Reply, hello.Value.Header.Flags);
            Assert.True(await raw.ClosedByPeerAsync(TimeSpan.FromSeconds(5)));
            // Closed for its kind, which the store only learns by parsing the whole 10 KiB frame.
            await Eventually(() => log.Lines.Any(l => l.Contains("unknown message kind 77")), TimeSpan.FromSeconds(5),
                () => "the 10 KiB frame was not parsed: " + string.Join(" | ", log.Lines));
        }
    }

    [Fact]
    public async Task Gets_waiting_on_a_connection_that_closes_leave_the_store_and_a_client_has_a_cap_on_them()
    {
        await using var scope = ServerScope.Start(1 << 20, new PlasmaServerOptions { MaxWaitingGetsPerClient = 5000 });
        var owner = NewOwner();
        await using (var raw = await RawConnection.ConnectAsync(scope.SocketPath))
        {
            await raw.HelloAsync();
            var w = new ArrayBufferWriter<byte>();
            for (ulong i = 0; i < 5000; i++) w.Write(GetFrame(10 + i, Id(owner, i), -1)); // wait forever
            await raw.SendAsync(w.WrittenSpan.ToArray());
            await Eventually(() => scope.Store.WaitingGets == 5000, TimeSpan.FromSeconds(10), () => $"{scope.Store.WaitingGets} waiting");
            // One more is refused (and the connection stays).
            await raw.SendAsync(GetFrame(9, Id(owner, 99_999), -1));
            var refused = await raw.ReadFrameAsync(TimeSpan.FromSeconds(5));
            Assert.NotNull(refused);
            Assert.Equal(FrameFlags.Reply | FrameFlags.Error, refused.Value.Header.Flags);
            Assert.Equal((ushort)PlasmaStatus.InvalidRequest, BinaryPrimitives.ReadUInt16LittleEndian(refused.Value.Payload));
        }
        // The client went away: every one of its waits is cancelled and removed.
        await Eventually(() => scope.Store.WaitingGets == 0, TimeSpan.FromSeconds(10), () => $"{scope.Store.WaitingGets} waits left behind");
        await Eventually(() => scope.Server.ConnectionCount == 0, TimeSpan.FromSeconds(5), () => $"{scope.Server.ConnectionCount} connections");
    }
}
