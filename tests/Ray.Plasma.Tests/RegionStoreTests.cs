using Ray.Plasma.Store;
using static Ray.Plasma.Tests.TestUtil;

namespace Ray.Plasma.Tests;

/// <summary>
/// Regions in the store's table (PlasmaStore's API, no socket): grants from free space, seals
/// that carve objects out of a region, retire and disconnect returning what is left, and the
/// refusals of bad requests.
/// </summary>
public class RegionStoreTests
{
    private const long MiB = 1 << 20;
    private const long Client = 7;

    private static unsafe void Write(PlasmaStore store, long dataOffset, byte[] data) =>
        data.CopyTo(store.Arena.Slice(dataOffset, data.Length));

    [Fact]
    public void A_seal_in_a_region_makes_an_ordinary_object_and_retire_returns_the_rest()
    {
        using var s = new StoreScope(4 * MiB);
        var region = s.Store.GrantRegion(Client, MiB);
        Assert.Equal(MiB, s.Store.Stats.UsedBytes);
        Assert.Equal(MiB, s.Store.RegionBytes);

        var id = Id(NewOwner(), 1);
        var data = RandomBytes(100_000, 1);
        var dataOffset = region + PlasmaStore.HeaderSize;
        Write(s.Store, dataOffset, data);
        Assert.False(s.Store.Contains(id)); // written, not sealed: the store knows nothing of it
        SealAsClient(s.Store, id, dataOffset, data.Length, typeTag: 5, pinned: true, Client, keepReference: true);

        Assert.True(s.Store.Contains(id));
        Assert.True(s.Store.TryGet(id, out var info, client: 99));
        Assert.Equal(dataOffset, info.DataOffset);
        Assert.Equal(5u, info.TypeTag);
        Assert.True(s.Store.Arena.Slice(info.DataOffset, data.Length).SequenceEqual(data));
        Assert.Equal(MiB - Charge(data.Length), s.Store.RegionBytes); // carved out of the region

        // Kept reference: a delete waits for the creator's release as well as the reader's.
        Assert.True(s.Store.Delete(id));
        s.Store.Release(id, 99);
        Assert.Equal(MiB, s.Store.Stats.UsedBytes);
        s.Store.Release(id, Client);
        Assert.Equal(MiB - Charge(data.Length), s.Store.Stats.UsedBytes); // the object's block went to free space

        Assert.True(s.Store.RetireRegion(Client, region));
        Assert.Equal(0, s.Store.Stats.UsedBytes);
        Assert.Equal(0, s.Store.RegionBytes);
        Assert.False(s.Store.RetireRegion(Client, region)); // once
        Assert.Equal(s.Store.Stats.CapacityBytes, s.Store.Stats.LargestFreeBlock); // all coalesced
    }

    [Fact]
    public void A_client_that_disconnects_with_unsealed_blocks_in_its_regions_leaks_nothing()
    {
        using var s = new StoreScope(4 * MiB);
        var r1 = s.Store.GrantRegion(Client, MiB);
        var r2 = s.Store.GrantRegion(Client, MiB);
        var sealedId = Id(NewOwner(), 1);
        SealAsClient(s.Store, sealedId, r1 + PlasmaStore.HeaderSize, 1000, 0, pinned: true, Client, keepReference: true);
        // Blocks at r1 + 1088 and in r2 were being written when the client went away: never sealed.
        s.Store.DisconnectClient(Client);

        Assert.Equal(0, s.Store.RegionCount(Client));
        Assert.Equal(0, s.Store.RegionBytes);
        Assert.Equal(Charge(1000), s.Store.Stats.UsedBytes); // only the sealed (pinned, primary) object stays
        Assert.True(s.Store.Contains(sealedId));
        Assert.True(s.Store.Delete(sealedId)); // its reference went with the client: freed at once
        Assert.Equal(0, s.Store.Stats.UsedBytes);
        _ = r2;
    }

    [Fact]
    public void Bad_region_requests_are_refused_with_clear_errors_and_change_nothing()
    {
        using var s = new StoreScope(4 * MiB);
        var owner = NewOwner();
        var region = s.Store.GrantRegion(Client, MiB);
        var other = s.Store.GrantRegion(8, 256 * 1024);

        PlasmaException Refused(Action a) => Assert.Throws<PlasmaException>(a);

        var outside = Refused(() => SealAsClient(s.Store, Id(owner, 1), region + MiB + PlasmaStore.HeaderSize, 100, 0, true, Client, false));
        Assert.Equal(PlasmaStatus.InvalidRequest, outside.Status);
        Assert.Contains("not inside a region of client 7", outside.Message);
        var beyondEnd = Refused(() => SealAsClient(s.Store, Id(owner, 1), region + MiB - 64 + PlasmaStore.HeaderSize, 100, 0, true, Client, false));
        Assert.Equal(PlasmaStatus.InvalidRequest, beyondEnd.Status);
        var othersRegion = Refused(() => SealAsClient(s.Store, Id(owner, 1), other + PlasmaStore.HeaderSize, 100, 0, true, Client, false));
        Assert.Equal(PlasmaStatus.InvalidRequest, othersRegion.Status);
        var misaligned = Refused(() => SealAsClient(s.Store, Id(owner, 1), region + 100, 100, 0, true, Client, false));
        Assert.Equal(PlasmaStatus.InvalidRequest, misaligned.Status);
        var negative = Refused(() => SealAsClient(s.Store, Id(owner, 1), region + PlasmaStore.HeaderSize, -1, 0, true, Client, false));
        Assert.Equal(PlasmaStatus.InvalidRequest, negative.Status);

        SealAsClient(s.Store, Id(owner, 1), region + PlasmaStore.HeaderSize, 1000, 0, true, Client, false);
        var overlap = Refused(() => SealAsClient(s.Store, Id(owner, 2), region + 512 + PlasmaStore.HeaderSize, 100, 0, true, Client, false));
        Assert.Contains("overlaps", overlap.Message);
        var twice = Refused(() => SealAsClient(s.Store, Id(owner, 1), region + 4096 + PlasmaStore.HeaderSize, 1000, 0, true, Client, false));
        Assert.Equal(PlasmaStatus.ObjectExists, twice.Status);

        Assert.Equal(PlasmaStatus.InvalidRequest, Refused(() => s.Store.GrantRegion(Client, 1000)).Status); // below the smallest
        Assert.Equal(PlasmaStatus.InvalidRequest, Refused(() => s.Store.GrantRegion(Client, 2 * MiB)).Status); // over a quarter
        Assert.False(s.Store.RetireRegion(Client, region + 64)); // not a region's offset
        Assert.False(s.Store.RetireRegion(Client, other)); // another client's

        Assert.Equal(1, s.Store.Stats.Objects); // the store still works: one object, two regions
        Assert.Equal(MiB + 256 * 1024 - Charge(1000), s.Store.RegionBytes);
    }

    [Fact]
    public void Grants_are_limited_per_client_to_half_the_store_together_and_to_free_space()
    {
        using var s = new StoreScope(4 * MiB);
        for (var i = 0; i < PlasmaStore.MaxRegionsPerClient; i++) s.Store.GrantRegion(Client, 256 * 1024);
        var tooMany = Assert.Throws<PlasmaException>(() => s.Store.GrantRegion(Client, 256 * 1024));
        Assert.Equal(PlasmaStatus.InvalidRequest, tooMany.Status);
        Assert.Contains("the limit", tooMany.Message);

        s.Store.GrantRegion(8, MiB); // 2 MiB in regions now: half the store
        var half = Assert.Throws<PlasmaException>(() => s.Store.GrantRegion(9, 64 * 1024));
        Assert.Equal(PlasmaStatus.StoreFull, half.Status);

        // Free space only: a store filled with objects grants nothing, and evicts nothing for it.
        s.Store.DisconnectClient(Client);
        s.Store.DisconnectClient(8);
        var owner = NewOwner();
        for (var i = 0; i < 4; i++) Put(s.Store, Id(owner, (ulong)i), new byte[MiB - 1024], pinned: false);
        var full = Assert.Throws<PlasmaException>(() => s.Store.GrantRegion(Client, 64 * 1024));
        Assert.Equal(PlasmaStatus.StoreFull, full.Status);
        Assert.Equal(0, s.Store.Stats.Evictions);
    }

    [Fact]
    public void Objects_sealed_in_regions_spill_restore_and_evict_like_any_other()
    {
        using var s = new StoreScope(4 * MiB);
        var owner = NewOwner();
        var region = s.Store.GrantRegion(Client, MiB);
        var pinnedId = Id(owner, 1);
        var unpinnedId = Id(owner, 2);
        var a = RandomBytes(300_000, 1);
        var b = RandomBytes(300_000, 2);
        Write(s.Store, region + PlasmaStore.HeaderSize, a);
        SealAsClient(s.Store, pinnedId, region + PlasmaStore.HeaderSize, a.Length, 0, pinned: true, Client, false);
        var second = region + Charge(a.Length);
        Write(s.Store, second + PlasmaStore.HeaderSize, b);
        SealAsClient(s.Store, unpinnedId, second + PlasmaStore.HeaderSize, b.Length, 0, pinned: false, Client, false);
        s.Store.RetireRegion(Client, region);

        // The whole arena: the unpinned one is evicted first, then the pinned one spilled.
        Put(s.Store, Id(owner, 3), new byte[4 * MiB - 128]);
        Assert.Equal(1, s.Store.Stats.Evictions);
        Assert.Equal(1, s.Store.Stats.SpillCount);
        Assert.False(s.Store.Contains(unpinnedId));
        Assert.True(s.Store.Delete(Id(owner, 3)));
        Assert.True(s.Store.TryGet(pinnedId, out var info));
        Assert.True(s.Store.Arena.Slice(info.DataOffset, a.Length).SequenceEqual(a)); // restored
        s.Store.Release(pinnedId);
    }

    [Fact]
    public void A_create_that_cannot_fit_beside_a_region_fails_fast_without_spilling()
    {
        // A region in the middle of the arena splits it: spilling every object around it could
        // not make a block of 2.5 MiB, so the create fails at once and nothing is spilled.
        using var s = new StoreScope(4 * MiB);
        var owner = NewOwner();
        Put(s.Store, Id(owner, 1), new byte[MiB + MiB / 2 - 64]);
        s.Store.GrantRegion(Client, MiB);
        Put(s.Store, Id(owner, 2), new byte[MiB + MiB / 2 - 64]);
        var full = Assert.Throws<ObjectStoreFullException>(() => s.Store.Create(Id(owner, 3), 2 * MiB + MiB / 2));
        Assert.Equal(PlasmaStatus.StoreFull, full.Status);
        Assert.Equal(0, s.Store.Stats.SpillCount);
    }
}
