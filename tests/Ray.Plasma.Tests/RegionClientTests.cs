using Ray.Plasma.Client;
using Ray.Plasma.Server;
using Ray.Plasma.Store;
using Ray.Protocol;
using static Ray.Plasma.Tests.TestUtil;

namespace Ray.Plasma.Tests;

/// <summary>
/// Creates without a round trip over the socket: a PlasmaClient with regions on reserves
/// objects in a region the store granted and seals them one way.
/// </summary>
public class RegionClientTests
{
    private const long MiB = 1 << 20;
    private const long Region = 256 * 1024; // objects up to 64 KiB go in regions
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(5);

    private static async Task<PlasmaClient> ConnectWithRegions(ServerScope s)
    {
        var client = await PlasmaClient.ConnectAsync(s.SocketPath);
        client.UseRegions(Region);
        return client;
    }

    private static PlasmaBuffer PutKeeping(PlasmaClient client, PlasmaObjectId id, byte[] data)
    {
        var buffer = client.Create(id, data.Length, typeTag: 3);
        Assert.True(buffer.InRegion);
        data.CopyTo(buffer.Span);
        return buffer.SealKeepingView() ?? throw new InvalidOperationException("a region seal keeps a view");
    }

    [Fact]
    public async Task A_put_in_a_region_is_seen_sealed_by_another_client_right_after()
    {
        await using var s = ServerScope.Start(8 * MiB);
        await using var writer = await ConnectWithRegions(s);
        await using var reader = await PlasmaClient.ConnectAsync(s.SocketPath);
        var owner = NewOwner();
        for (var i = 0; i < 20; i++)
        {
            var id = Id(owner, (ulong)i);
            var data = RandomBytes(50_000, i);
            using var kept = PutKeeping(writer, id, data);
            Assert.True(kept.Span.SequenceEqual(data));
            // The seal is one way; a Get from another connection right after waits for it if
            // it has not been applied yet, and sees the sealed bytes.
            using var seen = await reader.GetAsync(id, Wait);
            Assert.True(seen.Span.SequenceEqual(data), $"object {i}");
            Assert.Equal(3u, seen.Info.TypeTag);
            // On the writer's own connection a round trip comes after the seal: sealed already.
            Assert.True(await writer.ContainsAsync(id));
        }
    }

    [Fact]
    public async Task Regions_are_used_up_retired_and_renewed_and_a_full_store_falls_back_to_creates_one_by_one()
    {
        await using var s = ServerScope.Start(4 * MiB);
        await using var client = await ConnectWithRegions(s);
        var owner = NewOwner();
        var data = RandomBytes(60_000, 1);
        // 60 000 bytes a block: four per 256 KiB region, so 40 puts use ten regions.
        for (var i = 0; i < 40; i++)
        {
            using var view = PutKeeping(client, Id(owner, (ulong)i), data);
            client.DeleteNoReply(Id(owner, (ulong)i));
        }
        Assert.True(await client.ContainsAsync(Id(owner, 0)) is false); // orders the one-way messages
        await Eventually(() => s.Store.Stats.Objects == 0, Wait, () => $"{s.Store.Stats.Objects} objects");
        // Only the active region and the two asked for ahead are held: used ones were retired.
        // Blocks of the objects freed are recycled to the client besides (a few regions' worth at most).
        var recycled = s.Store.RecycledBytes;
        Assert.True(recycled <= PlasmaStore.RecycledRegions * Region, $"{recycled} bytes recycled");
        Assert.True(s.Store.RegionBytes - recycled <= 3 * Region, $"{s.Store.RegionBytes - recycled} bytes in regions");
        Assert.True(s.Store.Stats.UsedBytes - recycled <= 3 * Region + RecycleMailbox.Bytes, $"{s.Store.Stats.UsedBytes} bytes used");

        // A larger object than a quarter region takes a Create request.
        using (var big = client.Create(Id(owner, 1000), 100_000)) Assert.False(big.InRegion);

        // A store with no free block for a region: creates go one by one (and may evict).
        await using var filler = await PlasmaClient.ConnectAsync(s.SocketPath);
        var fill = NewOwner();
        for (var i = 0; i < 16; i++) await filler.PutAsync(Id(fill, (ulong)i), new byte[MiB / 4 - 64], pinned: false);
        // What is left of the active and the spare regions (up to 12 blocks) and the blocks
        // recycled to the client (up to 17) take the first creates; the rest go one by one.
        const int creates = 40;
        var oneByOne = 0;
        for (var i = 0; i < creates; i++)
        {
            var b = client.Create(Id(owner, 2000 + (ulong)i), 60_000);
            if (!b.InRegion) oneByOne++;
            data.CopyTo(b.Span);
            b.Seal();
        }
        Assert.True(oneByOne >= 2, $"{oneByOne} of {creates} creates went one by one");
        for (var i = 0; i < creates; i++)
        {
            using var v = await filler.GetAsync(Id(owner, 2000 + (ulong)i), Wait);
            Assert.True(v.Span.SequenceEqual(data));
        }
    }

    [Fact]
    public async Task A_client_that_dies_with_unsealed_objects_in_its_region_leaks_nothing()
    {
        await using var s = ServerScope.Start(4 * MiB);
        var client = await ConnectWithRegions(s);
        var owner = NewOwner();
        using (PutKeeping(client, Id(owner, 1), RandomBytes(10_000, 1))) { }
        var unsealed = client.Create(Id(owner, 2), 20_000);
        Assert.True(unsealed.InRegion);
        unsealed.Span.Fill(9);
        Assert.True(await client.ContainsAsync(Id(owner, 1)));
        Assert.True(s.Store.RegionBytes > 0);

        await client.DisposeAsync(); // without sealing object 2
        await Eventually(() => s.Store.RegionBytes == 0, Wait, () => $"{s.Store.RegionBytes} bytes still in regions");
        Assert.Equal(Charge(10_000), s.Store.Stats.UsedBytes); // only the sealed, pinned object stays
        Assert.False(s.Store.Contains(Id(owner, 2)));
        Assert.True(s.Store.Delete(Id(owner, 1)));
        Assert.Equal(0, s.Store.Stats.UsedBytes);
    }

    [Fact]
    public async Task An_aborted_region_create_gives_its_block_back_and_seals_nothing()
    {
        await using var s = ServerScope.Start(4 * MiB);
        await using var client = await ConnectWithRegions(s);
        var owner = NewOwner();
        var first = client.Create(Id(owner, 1), 30_000);
        first.Dispose(); // abort: the last block taken is reused
        var second = client.Create(Id(owner, 2), 30_000);
        Assert.Equal(first.Pointer, second.Pointer);
        second.Seal();
        Assert.False(await client.ContainsAsync(Id(owner, 1)));
        Assert.True(await client.ContainsAsync(Id(owner, 2)));
    }

    [Fact]
    public async Task A_refused_region_seal_closes_the_connection_saying_why_and_the_store_serves_others()
    {
        await using var s = ServerScope.Start(4 * MiB);
        await using var other = await PlasmaClient.ConnectAsync(s.SocketPath);
        await using var client = await ConnectWithRegions(s);
        var id = Id(NewOwner(), 1);
        await other.PutAsync(id, new byte[] { 1, 2, 3 });

        // The same id again, sealed one way in a region: the store refuses and closes.
        using (PutKeeping(client, id, new byte[1000])) { }
        var error = await Assert.ThrowsAsync<PlasmaException>(async () =>
        {
            for (var i = 0; i < 100; i++) { await client.ContainsAsync(id); await Task.Delay(20); }
        });
        Assert.Equal(PlasmaStatus.Disconnected, error.Status);
        Assert.Contains("refused one-way SealInRegion", error.Message);
        Assert.Contains("already exists", error.Message);

        await Eventually(() => s.Store.RegionBytes == 0, Wait, () => $"{s.Store.RegionBytes} bytes in regions");
        using var v = await other.GetAsync(id, Wait); // the first object is intact
        Assert.True(v.Span.SequenceEqual(new byte[] { 1, 2, 3 }));
    }

    [Theory]
    [InlineData("outside")]
    [InlineData("unknown-region")]
    [InlineData("no-region")]
    public async Task Bad_one_way_region_frames_get_an_error_frame_and_the_close(string what)
    {
        await using var s = ServerScope.Start(4 * MiB);
        await using var raw = await RawConnection.ConnectAsync(s.SocketPath);
        await raw.HelloAsync();
        long region = -1;
        if (what != "no-region")
        {
            await raw.SendAsync(RawConnection.Frame((ushort)PlasmaMessageKind.GrantRegion, FrameFlags.None, 2, BitConverter.GetBytes(Region)));
            var grant = await raw.ReadFrameAsync(Wait);
            Assert.Equal(FrameFlags.Reply, grant!.Value.Header.Flags);
            region = BitConverter.ToInt64(grant.Value.Payload);
            Assert.Equal(Region, BitConverter.ToInt64(grant.Value.Payload, 8));
        }
        var kind = what == "unknown-region" ? PlasmaMessageKind.RetireRegion : PlasmaMessageKind.SealInRegion;
        byte[] payload;
        if (kind == PlasmaMessageKind.RetireRegion) payload = BitConverter.GetBytes(region + 64);
        else
        {
            payload = new byte[37];
            BitConverter.TryWriteBytes(payload, 5UL);
            BitConverter.TryWriteBytes(payload.AsSpan(8), 6UL);
            BitConverter.TryWriteBytes(payload.AsSpan(16), (what == "outside" ? region + Region : 0) + PlasmaStore.HeaderSize);
            BitConverter.TryWriteBytes(payload.AsSpan(24), 100L);
        }
        await raw.SendAsync(RawConnection.Frame((ushort)kind, FrameFlags.NoReply, 3, payload));
        var refusal = await raw.ReadFrameAsync(Wait);
        Assert.NotNull(refusal);
        Assert.Equal(FrameFlags.Reply | FrameFlags.Error, refusal.Value.Header.Flags);
        Assert.Equal(3UL, refusal.Value.Header.RequestId);
        Assert.Equal((ushort)PlasmaStatus.InvalidRequest, BitConverter.ToUInt16(refusal.Value.Payload));
        Assert.True(await raw.ClosedByPeerAsync(Wait));
        await Eventually(() => s.Store.RegionBytes == 0, Wait, () => $"{s.Store.RegionBytes} bytes in regions");

        await using var client = await ConnectWithRegions(s); // the store goes on
        using (PutKeeping(client, Id(NewOwner(), 1), new byte[100])) { }
    }

    [Fact]
    public async Task A_reclaim_gives_back_what_is_left_of_a_clients_regions()
    {
        await using var s = ServerScope.Start(MiB);
        await using var keeper = await PlasmaClient.ConnectAsync(s.SocketPath);
        keeper.UseRegions(Region);
        keeper.ReleaseUnusedViewsWhenAsked(() => 0);
        var owner = NewOwner();
        var b = keeper.Create(Id(owner, 1), 1000);
        b.Seal();
        Assert.True(await keeper.ContainsAsync(Id(owner, 1)));
        Assert.True(s.Store.RegionBytes > 0);

        // Another client needs more than the free space: the store asks the keeper, which
        // retires its regions before it answers, so the create fits.
        await using var writer = await PlasmaClient.ConnectAsync(s.SocketPath);
        await writer.PutAsync(Id(owner, 2), new byte[MiB - Region / 2]);
        Assert.Equal(0, s.Store.RegionBytes);
        Assert.Equal(0, s.Store.Stats.SpillCount);
    }
}
