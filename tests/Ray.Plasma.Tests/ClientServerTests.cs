using System.Buffers.Binary;
using Ray.Plasma.Client;
using Ray.Plasma.Server;
using Ray.Protocol;
using static Ray.Plasma.Tests.TestUtil;

namespace Ray.Plasma.Tests;

/// <summary>PlasmaClient against a PlasmaServer over the Unix socket, in this process.</summary>
public class ClientServerTests
{
    private const long MiB = 1 << 20;
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task Put_and_get_round_trip_through_the_socket_with_zero_copy_views()
    {
        await using var s = ServerScope.Start(4 * MiB);
        await using var client = await PlasmaClient.ConnectAsync(s.SocketPath);
        Assert.Equal(s.Store.Arena.Capacity, client.Arena.Capacity);
        Assert.Equal(s.Store.Arena.Path, client.Arena.Path);
        Assert.False(client.Arena.IsOwner);

        var id = Id(NewOwner(), 1);
        var data = RandomBytes(123_457, 11);
        await client.PutAsync(id, data, typeTag: 77);
        Assert.True(await client.ContainsAsync(id));
        Assert.True(s.Store.Contains(id));

        using var view = await client.GetAsync(id, Wait);
        Assert.Equal(data.Length, view.Length);
        Assert.Equal(77u, view.Info.TypeTag);
        Assert.True(view.Span.SequenceEqual(data));
        unsafe
        {
            // The view points into this client's own mapping of the arena: no copy was made.
            Assert.Equal((nint)(client.Arena.Base + view.Info.DataOffset), view.Pointer);
            Assert.NotEqual((nint)client.Arena.Base, (nint)s.Store.Arena.Base); // two mappings of one file
        }
        Assert.True(s.Store.TryGet(id, out var local));
        Assert.Equal(local.DataOffset, view.Info.DataOffset);
        s.Store.Release(id);

        // Shared memory: a byte changed through the store's mapping is seen through the client's.
        // (Sealed objects are immutable by contract; this only proves both map the same pages.)
        var original = s.Store.Arena.Slice(local.DataOffset, 1)[0];
        s.Store.Arena.Slice(local.DataOffset, 1)[0] = (byte)~original;
        Assert.Equal((byte)~original, view.Span[0]);
        s.Store.Arena.Slice(local.DataOffset, 1)[0] = original;
    }

    [Fact]
    public async Task A_remote_write_buffer_writes_straight_into_the_arena()
    {
        await using var s = ServerScope.Start(2 * MiB);
        await using var client = await PlasmaClient.ConnectAsync(s.SocketPath);
        var id = Id(NewOwner(), 1);
        var w = await client.CreateAsync(id, 4096, typeTag: 5, pinned: false);
        unsafe { Assert.True(w.Pointer >= (nint)client.Arena.Base && w.Pointer < (nint)client.Arena.Base + client.Arena.Capacity); }
        w.Span.Fill(0x5A);
        Assert.False(await client.ContainsAsync(id));
        await w.SealAsync();
        Assert.True(s.Store.TryGet(id, out var info));
        Assert.True(s.Store.Arena.Slice(info.DataOffset, 4096).ToArray().All(b => b == 0x5A));
        s.Store.Release(id);

        var stats = await client.StatsAsync();
        var local = s.Store.Stats;
        Assert.Equal(local.CapacityBytes, stats.CapacityBytes);
        Assert.Equal(local.UsedBytes, stats.UsedBytes);
        Assert.Equal(1, stats.Objects);
        Assert.True(await client.DeleteAsync(id));
        Assert.False(await client.DeleteAsync(id));
        Assert.Equal(0, (await client.StatsAsync()).UsedBytes);
    }

    [Fact]
    public async Task Errors_come_back_as_PlasmaException_with_their_status_and_the_connection_keeps_working()
    {
        await using var s = ServerScope.Start(2 * MiB);
        await using var client = await PlasmaClient.ConnectAsync(s.SocketPath);
        var owner = NewOwner();
        var id = Id(owner, 1);

        var notFound = await Assert.ThrowsAsync<PlasmaException>(async () => await client.SealIdAsync(Id(owner, 404)));
        Assert.Equal(PlasmaStatus.ObjectNotFound, notFound.Status);
        Assert.Contains(Id(owner, 404).ToString(), notFound.Message);

        await client.PutAsync(id, new byte[] { 1, 2, 3 });
        var twice = await Assert.ThrowsAsync<PlasmaException>(async () => await client.SealIdAsync(id));
        Assert.Equal(PlasmaStatus.ObjectAlreadySealed, twice.Status);
        var exists = await Assert.ThrowsAsync<PlasmaException>(async () => await client.CreateAsync(id, 3));
        Assert.Equal(PlasmaStatus.ObjectExists, exists.Status);
        var negative = await Assert.ThrowsAsync<PlasmaException>(async () => await client.CreateAsync(Id(owner, 2), -5));
        Assert.Equal(PlasmaStatus.InvalidRequest, negative.Status);
        var tooLarge = await Assert.ThrowsAsync<PlasmaException>(async () => await client.CreateAsync(Id(owner, 2), 3 * MiB));
        Assert.Equal(PlasmaStatus.TooLarge, tooLarge.Status);
        var timeout = await Assert.ThrowsAsync<PlasmaException>(async () => await client.GetAsync(Id(owner, 404), TimeSpan.FromMilliseconds(50)));
        Assert.Equal(PlasmaStatus.Timeout, timeout.Status);
        var notSealed = await Assert.ThrowsAsync<PlasmaException>(async () =>
        {
            await client.CreateAsync(Id(owner, 3), 10);
            await client.DeleteAsync(Id(owner, 3));
        });
        Assert.Equal(PlasmaStatus.ObjectNotSealed, notSealed.Status);

        // Still the same connection, still working.
        Assert.Equal(1, s.Server.ConnectionCount);
        using var view = await client.GetAsync(id, Wait);
        Assert.Equal(new byte[] { 1, 2, 3 }, view.Span.ToArray());
        await client.PutAsync(Id(owner, 4), new byte[10]);
        Assert.True(await client.ContainsAsync(Id(owner, 4)));
    }

    [Fact]
    public async Task A_store_full_error_crosses_the_socket()
    {
        await using var s = ServerScope.Start(1 * MiB);
        await using var client = await PlasmaClient.ConnectAsync(s.SocketPath);
        var owner = NewOwner();
        var pending = new List<PlasmaWriteBuffer>();
        for (ulong i = 0; i < 5; i++) pending.Add(await client.CreateAsync(Id(owner, i), 200_000));
        var ex = await Assert.ThrowsAsync<PlasmaException>(async () => await client.CreateAsync(Id(owner, 9), 200_000));
        Assert.Equal(PlasmaStatus.StoreFull, ex.Status);
        Assert.Contains("200064", ex.Message);
        foreach (var w in pending) await w.AbortAsync();
        Assert.Equal(0, (await client.StatsAsync()).UsedBytes);
    }

    [Fact]
    public async Task A_remote_get_waits_for_a_local_seal()
    {
        await using var s = ServerScope.Start(1 * MiB);
        await using var client = await PlasmaClient.ConnectAsync(s.SocketPath);
        var id = Id(NewOwner(), 1);
        var get = client.GetAsync(id, TimeSpan.FromSeconds(20)).AsTask();
        await Task.Delay(100);
        Assert.False(get.IsCompleted);
        await new PlasmaLocalClient(s.Store).PutAsync(id, new byte[] { 9, 8, 7 });
        using var view = await WithTimeout(get, Wait, "remote GetAsync");
        Assert.Equal(new byte[] { 9, 8, 7 }, view.Span.ToArray());
    }

    [Fact]
    public async Task A_remote_get_with_a_timeout_of_months_waits_for_the_seal()
    {
        // Encoded as microseconds (8.64e12 for 100 days), then Task.WaitAsync on the server side.
        await using var s = ServerScope.Start(1 * MiB);
        await using var client = await PlasmaClient.ConnectAsync(s.SocketPath);
        var id = Id(NewOwner(), 1);
        var get = client.GetAsync(id, TimeSpan.FromDays(100)).AsTask();
        await Task.Delay(100);
        Put(s.Store, id, new byte[8]);
        using var view = await WithTimeout(get, Wait, "remote GetAsync(100 days)");
        Assert.Equal(8, view.Length);
    }

    [Fact]
    public async Task Many_pipelined_requests_on_one_connection_all_complete()
    {
        await using var s = ServerScope.Start(8 * MiB);
        await using var client = await PlasmaClient.ConnectAsync(s.SocketPath);
        var owner = NewOwner();
        await Task.WhenAll(Enumerable.Range(0, 200).Select(i => client.PutAsync(Id(owner, (ulong)i), RandomBytes(1000 + i, i)).AsTask()));
        var views = await Task.WhenAll(Enumerable.Range(0, 200).Select(i => client.GetAsync(Id(owner, (ulong)i), Wait).AsTask()));
        for (var i = 0; i < 200; i++)
        {
            Assert.True(views[i].Span.SequenceEqual(RandomBytes(1000 + i, i)), $"object {i}");
            views[i].Dispose();
        }
        // Deletes wait for the releases, which are one-way messages: poll until they are in.
        for (var i = 0; i < 200; i++) Assert.True(s.Store.Delete(Id(owner, (ulong)i)));
        await Eventually(() => s.Store.Stats.UsedBytes == 0, Wait, () => $"used {s.Store.Stats.UsedBytes}");
    }

    [Fact]
    public async Task The_server_counts_connections_and_a_closed_client_releases_its_views_and_reservations()
    {
        await using var s = ServerScope.Start(2 * MiB);
        var owner = NewOwner();
        var held = Id(owner, 1);
        Put(s.Store, held, new byte[10_000]);
        var a = await PlasmaClient.ConnectAsync(s.SocketPath);
        var b = await PlasmaClient.ConnectAsync(s.SocketPath);
        try
        {
            await using var c = await PlasmaClient.ConnectAsync(s.SocketPath);
            await Eventually(() => s.Server.ConnectionCount == 3, Wait, () => $"{s.Server.ConnectionCount} connections");

            var view = await a.GetAsync(held, Wait); // never disposed: the disconnect must release it
            var reservation = await a.CreateAsync(Id(owner, 2), 50_000); // never sealed
            Assert.True(s.Store.Delete(held)); // deferred: `a` reads it
            Assert.Equal(Charge(10_000) + Charge(50_000), s.Store.Stats.UsedBytes);

            await a.DisposeAsync();
            await Eventually(() => s.Server.ConnectionCount == 2, Wait, () => $"{s.Server.ConnectionCount} connections");
            await Eventually(() => s.Store.Stats.UsedBytes == 0, Wait, () => $"used {s.Store.Stats.UsedBytes}");
            Assert.Equal(0, s.Store.Stats.Objects);
            view.Dispose(); // after the connection closed: a no-op, not a crash
            GC.KeepAlive(reservation);

            Assert.False(await b.ContainsAsync(held));
            await b.PutAsync(Id(owner, 2), new byte[5]); // the aborted id is free again
        }
        finally
        {
            await b.DisposeAsync();
            await a.DisposeAsync();
        }
        await Eventually(() => s.Server.ConnectionCount == 0, Wait, () => $"{s.Server.ConnectionCount} connections");
    }

    public static TheoryData<string> MalformedInputs() =>
    [
        "garbage", "oversized-length", "negative-length", "unknown-flags", "no-hello", "reply-flag",
        "unknown-kind", "truncated-create", "trailing-bytes", "wrong-version",
    ];

    private static byte[] Malformed(string kind)
    {
        var hello = RawConnection.HelloFrame();
        byte[] Header(int length, ushort k, ushort flags)
        {
            var h = new byte[16];
            BinaryPrimitives.WriteInt32LittleEndian(h, length);
            BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(4), k);
            BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(6), flags);
            BinaryPrimitives.WriteUInt64LittleEndian(h.AsSpan(8), 2);
            return h;
        }
        return kind switch
        {
            "garbage" => RandomBytes(256, 99).Select(b => (byte)(b | 0x80)).ToArray(), // high bytes: a huge or negative length
            "oversized-length" => [.. hello, .. Header(1 << 30, (ushort)PlasmaMessageKind.Get, 0)],
            "negative-length" => [.. hello, .. Header(-16, (ushort)PlasmaMessageKind.Get, 0)],
            "unknown-flags" => [.. hello, .. Header(0, (ushort)PlasmaMessageKind.Stats, 0x80)],
            "no-hello" => RawConnection.Frame((ushort)PlasmaMessageKind.Stats, FrameFlags.None, 2, []),
            "reply-flag" => [.. hello, .. RawConnection.Frame((ushort)PlasmaMessageKind.Stats, FrameFlags.Reply, 2, [])],
            "unknown-kind" => [.. hello, .. RawConnection.Frame(999, FrameFlags.None, 2, [])],
            "truncated-create" => [.. hello, .. RawConnection.Frame((ushort)PlasmaMessageKind.Create, FrameFlags.None, 2, [1, 2, 3])],
            "trailing-bytes" => [.. hello, .. RawConnection.Frame((ushort)PlasmaMessageKind.Contains, FrameFlags.None, 2, new byte[17])],
            "wrong-version" => RawConnection.Frame((ushort)PlasmaMessageKind.Hello, FrameFlags.None, 1, [9, 0, 0, 0]),
            _ => throw new ArgumentException(kind),
        };
    }

    [Theory]
    [MemberData(nameof(MalformedInputs))]
    public async Task A_malformed_frame_closes_only_that_connection(string kind)
    {
        await using var s = ServerScope.Start(1 * MiB);
        await using var good = await PlasmaClient.ConnectAsync(s.SocketPath);
        var id = Id(NewOwner(), 1);
        await good.PutAsync(id, new byte[] { 1, 2, 3, 4 });

        await using (var bad = await RawConnection.ConnectAsync(s.SocketPath))
        {
            await bad.SendAsync(Malformed(kind));
            Assert.True(await bad.ClosedByPeerAsync(Wait), $"the server kept a connection open after '{kind}'");
        }
        await Eventually(() => s.Server.ConnectionCount == 1, Wait, () => $"{s.Server.ConnectionCount} connections");

        using var view = await good.GetAsync(id, Wait);
        Assert.Equal(new byte[] { 1, 2, 3, 4 }, view.Span.ToArray());
        Assert.True(await good.ContainsAsync(id));
        await using var later = await PlasmaClient.ConnectAsync(s.SocketPath); // still accepting
        Assert.True(await later.ContainsAsync(id));
    }

    [Fact]
    public async Task A_get_with_an_unrepresentable_timeout_is_answered_and_never_leaks_the_connection()
    {
        // The wire carries the timeout as i64 microseconds; long.MaxValue us does not fit a
        // TimeSpan. Whatever the server makes of it (an error reply, or closing the connection),
        // the client must not get silence, and what it holds must be released when it goes.
        await using var s = ServerScope.Start(1 * MiB);
        var raw = await RawConnection.ConnectAsync(s.SocketPath);
        try
        {
            await raw.HelloAsync();
            var create = new byte[29];
            BinaryPrimitives.WriteUInt64LittleEndian(create, 1);
            BinaryPrimitives.WriteUInt64LittleEndian(create.AsSpan(8), 1);
            BinaryPrimitives.WriteInt64LittleEndian(create.AsSpan(16), 1000);
            await raw.SendAsync(RawConnection.Frame((ushort)PlasmaMessageKind.Create, FrameFlags.None, 2, create));
            var created = await raw.ReadFrameAsync(Wait);
            Assert.NotNull(created);
            Assert.Equal(FrameFlags.Reply, created.Value.Header.Flags);
            Assert.Equal(Charge(1000), s.Store.Stats.UsedBytes);

            var get = new byte[24];
            BinaryPrimitives.WriteUInt64LittleEndian(get, 1);
            BinaryPrimitives.WriteUInt64LittleEndian(get.AsSpan(8), 2);
            BinaryPrimitives.WriteInt64LittleEndian(get.AsSpan(16), long.MaxValue);
            await raw.SendAsync(RawConnection.Frame((ushort)PlasmaMessageKind.Get, FrameFlags.None, 7, get));
            await raw.SendAsync(RawConnection.Frame((ushort)PlasmaMessageKind.Stats, FrameFlags.None, 8, []));

            (FrameHeader Header, byte[] Payload)? first;
            try { first = await raw.ReadFrameAsync(TimeSpan.FromSeconds(5)); }
            catch (TimeoutException) { first = default; Assert.Fail("no reply to a Get with timeout long.MaxValue us, and the connection was not closed either"); }
            if (first is { } f) Assert.True(f.Header.RequestId is 7 or 8, $"reply to unknown request {f.Header.RequestId}");
        }
        finally { await raw.DisposeAsync(); }

        // The client went away: its unsealed reservation must be freed.
        await Eventually(() => s.Store.Stats.UsedBytes == 0 && s.Server.ConnectionCount == 0, TimeSpan.FromSeconds(5),
            () => $"used {s.Store.Stats.UsedBytes}, {s.Server.ConnectionCount} connections");
    }

    [Fact]
    public async Task Disposing_a_client_right_after_disposing_a_view_does_not_throw()
    {
        // A view's Dispose queues a one-way Release frame; the client's DisposeAsync right after
        // must close quietly (the store releases everything of a closed client anyway).
        await using var s = ServerScope.Start(1 * MiB);
        var id = Id(NewOwner(), 1);
        Put(s.Store, id, new byte[100]);
        for (var i = 0; i < 10; i++)
        {
            var client = await PlasmaClient.ConnectAsync(s.SocketPath);
            var view = await client.GetAsync(id, Wait);
            view.Dispose();
            await client.DisposeAsync();
        }
        await Eventually(() => s.Server.ConnectionCount == 0, Wait, () => $"{s.Server.ConnectionCount} connections");
        Assert.True(s.Store.Delete(id));
        Assert.Equal(0, s.Store.Stats.UsedBytes);
    }

    [Fact]
    public async Task Hello_reply_names_version_capacity_and_arena_path()
    {
        await using var s = ServerScope.Start(1 * MiB);
        await using var raw = await RawConnection.ConnectAsync(s.SocketPath);
        await raw.SendAsync(RawConnection.HelloFrame(42));
        var reply = await raw.ReadFrameAsync(Wait);
        Assert.NotNull(reply);
        var (h, p) = reply.Value;
        Assert.Equal(42ul, h.RequestId);
        var r = new PayloadReader(new System.Buffers.ReadOnlySequence<byte>(p), h.Kind);
        Assert.Equal(PlasmaProtocol.Version, r.U32());
        Assert.Equal((ulong)s.Store.Arena.Capacity, r.U64());
        Assert.Equal(s.Store.Arena.Path, r.Utf8());
        r.End();
    }

    [Fact]
    public async Task Connecting_to_a_missing_socket_fails_and_a_disposed_server_refuses()
    {
        await Assert.ThrowsAnyAsync<System.Net.Sockets.SocketException>(() => PlasmaClient.ConnectAsync(ServerScope.NewSocketPath()));

        var s = ServerScope.Start(1 * MiB);
        PlasmaClient? client = null;
        try
        {
            client = await PlasmaClient.ConnectAsync(s.SocketPath);
            var id = Id(NewOwner(), 1);
            await client.PutAsync(id, new byte[3]);
        }
        finally { await s.DisposeAsync(); }
        Assert.False(File.Exists(s.SocketPath));
        // The server closed the connection: requests fail with Disconnected, not hang.
        var ex = await Assert.ThrowsAsync<PlasmaException>(() => WithTimeout(client.ContainsAsync(Id(1, 1)).AsTask(), Wait, "request after server dispose"));
        Assert.Equal(PlasmaStatus.Disconnected, ex.Status);
        await client.DisposeAsync();
    }
}
