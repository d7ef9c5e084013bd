using Ray.Plasma.Store;
using static Ray.Plasma.Tests.TestUtil;

namespace Ray.Plasma.Tests;

/// <summary>
/// Recycled blocks in the store's table (PlasmaStore's API, no socket): a region object that its
/// creator frees itself in a Free batch comes back to the creator, published in its mailbox, and
/// nothing else does: not while another client holds it, not after a spill, not another
/// client's object, not beyond the limits.
/// </summary>
public class RecycleStoreTests
{
    private const long MiB = 1 << 20;
    private const long Client = 7;
    private const long Reader = 99;
    private const byte ReleaseAndDelete = PlasmaStore.FreeRelease | PlasmaStore.FreeDelete;

    private static long SealKeeping(PlasmaStore store, PlasmaObjectId id, long start, int size)
    {
        SealAsClient(store, id, start + PlasmaStore.HeaderSize, size, 0, pinned: true, Client, keepReference: true);
        return start;
    }

    private static long FreeAsCreator(PlasmaStore store, PlasmaObjectId id, long client = Client) =>
        store.FreeBatch(client, [(id, ReleaseAndDelete)]);

    private static unsafe List<(long Offset, long Length)> Mailbox(PlasmaStore store, ref long taken, long client = Client)
    {
        var list = new List<(long, long)>();
        var box = store.MailboxOf(client);
        if (box < 0) return list;
        taken = RecycleMailbox.Take(store.Arena.Base + box, taken, list);
        return list;
    }

    [Fact]
    public void A_region_object_its_creator_frees_comes_back_to_it_and_takes_a_new_object()
    {
        using var s = new StoreScope(8 * MiB);
        var region = s.Store.GrantRegion(Client, MiB);
        var owner = NewOwner();
        SealKeeping(s.Store, Id(owner, 1), region, 100_000);
        Assert.Equal(-1, s.Store.MailboxOf(Client));
        var used = s.Store.Stats.UsedBytes;

        var mailbox = FreeAsCreator(s.Store, Id(owner, 1));
        Assert.True(mailbox >= 0, "the first recycled block opens the mailbox");
        Assert.Equal(mailbox, s.Store.MailboxOf(Client));
        Assert.False(s.Store.Contains(Id(owner, 1)));
        Assert.Equal(Charge(100_000), s.Store.RecycledBytesOf(Client));
        Assert.Equal(used + RecycleMailbox.Bytes, s.Store.Stats.UsedBytes); // held for the client, not freed
        long taken = 0;
        Assert.Equal([(region, Charge(100_000))], Mailbox(s.Store, ref taken));
        Assert.Empty(Mailbox(s.Store, ref taken)); // taken once

        // A smaller object in the block; the rest stays the client's.
        SealKeeping(s.Store, Id(owner, 2), region, 50_000);
        Assert.Equal(Charge(100_000) - Charge(50_000), s.Store.RecycledBytesOf(Client));
        Assert.True(s.Store.TryGet(Id(owner, 2), out var info, Reader));
        Assert.Equal(region + PlasmaStore.HeaderSize, info.DataOffset);
        s.Store.Release(Id(owner, 2), Reader);
        // The second free publishes into the open mailbox: not named again.
        Assert.Equal(-1, FreeAsCreator(s.Store, Id(owner, 2)));
        Assert.Equal([(region, Charge(50_000))], Mailbox(s.Store, ref taken));
    }

    [Fact]
    public void A_block_is_never_recycled_while_another_client_holds_the_object()
    {
        using var s = new StoreScope(8 * MiB);
        var region = s.Store.GrantRegion(Client, MiB);
        var owner = NewOwner();
        var data = RandomBytes(100_000, 3);
        data.CopyTo(s.Store.Arena.Slice(region + PlasmaStore.HeaderSize, data.Length));
        SealKeeping(s.Store, Id(owner, 1), region, data.Length);
        Assert.True(s.Store.TryGet(Id(owner, 1), out var view, Reader));

        FreeAsCreator(s.Store, Id(owner, 1)); // the creator is done; the reader is not
        Assert.Equal(0, s.Store.RecycledBytesOf(Client));
        long taken = 0;
        Assert.Empty(Mailbox(s.Store, ref taken));
        // The creator cannot seal over it either: it is neither region space nor recycled.
        var refused = Assert.Throws<PlasmaException>(() => SealKeeping(s.Store, Id(owner, 2), region, 1000));
        Assert.Equal(PlasmaStatus.InvalidRequest, refused.Status);
        Assert.True(s.Store.Arena.Slice(view.DataOffset, data.Length).SequenceEqual(data));

        // The reader's last release frees it into the store's free space, not to the creator.
        var used = s.Store.Stats.UsedBytes;
        s.Store.Release(Id(owner, 1), Reader);
        Assert.Equal(used - Charge(data.Length), s.Store.Stats.UsedBytes);
        Assert.Equal(0, s.Store.RecycledBytesOf(Client));
    }

    [Fact]
    public void Only_the_creators_own_free_of_an_object_still_in_its_region_block_recycles()
    {
        using var s = new StoreScope(8 * MiB);
        var region = s.Store.GrantRegion(Client, MiB);
        var other = s.Store.GrantRegion(8, MiB);
        var owner = NewOwner();
        // Another client's free of the creator's object: freed, to nobody.
        SealAsClient(s.Store, Id(owner, 1), region + PlasmaStore.HeaderSize, 1000, 0, true, Client, keepReference: false);
        Assert.Equal(-1, FreeAsCreator(s.Store, Id(owner, 1), client: 8));
        Assert.False(s.Store.Contains(Id(owner, 1)));
        // A delete outside a Free batch (the in-process API): freed.
        SealAsClient(s.Store, Id(owner, 2), region + 4096 + PlasmaStore.HeaderSize, 1000, 0, true, Client, keepReference: false);
        Assert.True(s.Store.Delete(Id(owner, 2)));
        // An object created one by one, not in a region: freed.
        Put(s.Store, Id(owner, 3), new byte[1000]);
        FreeAsCreator(s.Store, Id(owner, 3), client: PlasmaStore.LocalClient);
        Assert.Equal(0, s.Store.RecycledBytes);

        // Spilled and restored: its block left the region when it was spilled.
        SealAsClient(s.Store, Id(owner, 4), region + 8192 + PlasmaStore.HeaderSize, 300_000, 0, true, Client, keepReference: false);
        s.Store.RetireRegion(Client, region);
        s.Store.RetireRegion(8, other);
        var filler = Id(owner, 5);
        Put(s.Store, filler, new byte[(int)(s.Store.Arena.Capacity - PlasmaStore.HeaderSize)]); // the whole arena: spills object 4
        Assert.Equal(1, s.Store.Stats.SpillCount);
        Assert.True(s.Store.Delete(filler));
        Assert.True(s.Store.TryGet(Id(owner, 4), out _, Client)); // restored
        FreeAsCreator(s.Store, Id(owner, 4));
        Assert.False(s.Store.Contains(Id(owner, 4)));
        Assert.Equal(0, s.Store.RecycledBytes);
        Assert.Equal(0, s.Store.Stats.UsedBytes);
    }

    [Fact]
    public void A_client_holds_at_most_a_few_times_its_largest_region_recycled_and_as_much_as_its_mailbox_holds()
    {
        using var s = new StoreScope(16 * MiB);
        var owner = NewOwner();
        // Bytes: a few 256 KiB regions' worth. Objects of 60 000 bytes, four to a region.
        const long region = 256 * 1024;
        var fit = PlasmaStore.RecycledRegions * region / Charge(60_000);
        ulong seq = 0;
        for (var r = 0; r < PlasmaStore.RecycledRegions + 2; r++)
        {
            var start = s.Store.GrantRegion(Client, region);
            for (var i = 0; i < 4; i++)
            {
                var id = Id(owner, ++seq);
                SealKeeping(s.Store, id, start + i * Charge(60_000), 60_000);
                FreeAsCreator(s.Store, id);
            }
            s.Store.RetireRegion(Client, start);
        }
        Assert.Equal(fit * Charge(60_000), s.Store.RecycledBytesOf(Client));
        Assert.Equal(fit * Charge(60_000), s.Store.RegionBytes);
        s.Store.DisconnectClient(Client);
        Assert.Equal(0, s.Store.Stats.UsedBytes); // every block back, and the mailbox

        // Entries: a mailbox nobody empties takes RecycleMailbox.Capacity blocks, then frees the rest.
        var big = s.Store.GrantRegion(Client, 4 * MiB);
        var n = RecycleMailbox.Capacity + 10;
        for (var i = 0; i < n; i++)
        {
            var id = Id(owner, ++seq);
            SealKeeping(s.Store, id, big + i * Charge(100), 100);
            FreeAsCreator(s.Store, id);
        }
        Assert.Equal(RecycleMailbox.Capacity * Charge(100), s.Store.RecycledBytesOf(Client));
        long taken = 0;
        Assert.Equal(RecycleMailbox.Capacity, Mailbox(s.Store, ref taken).Count);
        var id2 = Id(owner, ++seq); // room again
        SealKeeping(s.Store, id2, big + n * Charge(100), 100);
        FreeAsCreator(s.Store, id2);
        Assert.Equal([(big + n * Charge(100), Charge(100))], Mailbox(s.Store, ref taken));
    }

    [Fact]
    public void Returned_and_disconnected_clients_blocks_go_back_to_free_space()
    {
        using var s = new StoreScope(8 * MiB);
        var region = s.Store.GrantRegion(Client, MiB);
        var owner = NewOwner();
        SealKeeping(s.Store, Id(owner, 1), region, 100_000);
        FreeAsCreator(s.Store, Id(owner, 1));
        var block = Charge(100_000);

        Assert.False(s.Store.ReturnRecycled(8, region, block)); // not another client's
        Assert.False(s.Store.ReturnRecycled(Client, region + 64, block)); // not beyond the block
        Assert.False(s.Store.ReturnRecycled(Client, region + 100, 64)); // misaligned
        Assert.True(s.Store.ReturnRecycled(Client, region + block - 4096, 4096)); // a part
        Assert.Equal(block - 4096, s.Store.RecycledBytesOf(Client));
        Assert.True(s.Store.ReturnRecycled(Client, region, block - 4096));
        Assert.False(s.Store.ReturnRecycled(Client, region, 64)); // once
        Assert.Equal(0, s.Store.RecycledBytesOf(Client));
        Assert.True(s.Store.RetireRegion(Client, region));
        Assert.Equal(RecycleMailbox.Bytes, s.Store.Stats.UsedBytes); // the mailbox stays until the client goes
        s.Store.DisconnectClient(Client);
        Assert.Equal(0, s.Store.Stats.UsedBytes);
        Assert.Equal(0, s.Store.RegionBytes);
        Assert.Equal(s.Store.Stats.CapacityBytes, s.Store.Stats.LargestFreeBlock);
    }

    [Fact]
    public unsafe void A_claimed_block_is_never_handed_to_a_reader_even_when_its_seal_is_applied_after_the_reuse()
    {
        using var s = new StoreScope(8 * MiB);
        var region = s.Store.GrantRegion(Client, MiB);
        var owner = NewOwner();
        var first = Id(owner, 1);
        var next = Id(owner, 2);
        var header = s.Store.Arena.Base + region;
        // The client reserves a block, seals one way, frees at once and claims the block, and
        // reserves its next object there, all before the store applies any of it.
        BlockClaim.MarkUnshared(header, first);
        Assert.True(BlockClaim.TryClaim(header, first));
        BlockClaim.MarkUnshared(header, next);
        s.Store.SealInRegion(first, region + PlasmaStore.HeaderSize, 1000, 0, true, Client, keepReference: true);
        Assert.False(s.Store.TryGet(first, out _, Reader)); // its block holds the next object now: not found
        s.Store.FreeBatch(Client, [(first, ReleaseAndDelete | PlasmaStore.FreeClaimed)]);
        Assert.False(s.Store.Contains(first));
        Assert.Equal(Charge(1000), s.Store.RecycledBytesOf(Client)); // the client's; not published (it has it)
        long taken = 0;
        Assert.Empty(Mailbox(s.Store, ref taken));

        s.Store.SealInRegion(next, region + PlasmaStore.HeaderSize, 1000, 0, true, Client, keepReference: true);
        Assert.Equal(0, s.Store.RecycledBytesOf(Client));
        Assert.True(s.Store.TryGet(next, out var info, Reader));
        Assert.Equal(region + PlasmaStore.HeaderSize, info.DataOffset);
        Assert.False(BlockClaim.TryClaim(header, next)); // shared: the creator cannot take it back
        // A claimed free of an object another client holds is refused: the client is broken.
        var bad = Assert.Throws<PlasmaException>(() => s.Store.FreeBatch(Client, [(next, ReleaseAndDelete | PlasmaStore.FreeClaimed)]));
        Assert.Equal(PlasmaStatus.InvalidRequest, bad.Status);
        Assert.Contains("still referenced", bad.Message);
        Assert.Throws<PlasmaException>(() => s.Store.FreeBatch(Client, [(Id(owner, 3), ReleaseAndDelete | PlasmaStore.FreeClaimed)]));
    }

    [Fact]
    public unsafe void A_client_that_goes_away_between_its_claim_and_its_free_leaves_no_object_behind()
    {
        using var s = new StoreScope(8 * MiB);
        var region = s.Store.GrantRegion(Client, MiB);
        var owner = NewOwner();
        SealKeeping(s.Store, Id(owner, 1), region, 1000);
        SealKeeping(s.Store, Id(owner, 2), region + 4096, 1000);
        Assert.True(BlockClaim.TryClaim(s.Store.Arena.Base + region, Id(owner, 1))); // its Free never comes
        s.Store.DisconnectClient(Client);
        Assert.False(s.Store.Contains(Id(owner, 1)));
        Assert.True(s.Store.Contains(Id(owner, 2))); // sealed, not claimed: an ordinary object
        Assert.Equal(Charge(1000), s.Store.Stats.UsedBytes);

        // Claimed after the disconnect: a Get does not find it, and space needed removes it rather than spilling it.
        Assert.True(BlockClaim.TryClaim(s.Store.Arena.Base + region + 4096, Id(owner, 2)));
        Assert.False(s.Store.TryGet(Id(owner, 2), out _, Reader));
        Put(s.Store, Id(owner, 3), new byte[8 * MiB - PlasmaStore.HeaderSize]);
        Assert.Equal(0, s.Store.Stats.SpillCount);
        Assert.False(s.Store.Contains(Id(owner, 2)));
    }
}
