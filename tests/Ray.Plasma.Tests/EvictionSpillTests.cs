using Ray.Plasma.Store;
using static Ray.Plasma.Tests.TestUtil;

namespace Ray.Plasma.Tests;

/// <summary>
/// Making room. A 1 MiB arena holds five 200 000-byte objects (200 064 bytes each with the
/// header), so the sixth needs one of them gone.
/// </summary>
public class EvictionSpillTests
{
    private const long Capacity = 1 << 20;
    private const int Size = 200_000;

    private static PlasmaObjectId[] Fill(PlasmaStore store, ulong owner, params bool[] pinned)
    {
        var ids = new PlasmaObjectId[pinned.Length];
        for (var i = 0; i < pinned.Length; i++)
        {
            ids[i] = Id(owner, (ulong)i);
            Put(store, ids[i], RandomBytes(Size, i), pinned[i]);
        }
        return ids;
    }

    [Fact]
    public void Unpinned_objects_are_evicted_least_recently_released_first()
    {
        using var s = new StoreScope(Capacity);
        var store = s.Store;
        var owner = NewOwner();
        var ids = Fill(store, owner, false, false, false, false, false);
        Assert.Equal(5 * Charge(Size), store.Stats.UsedBytes);

        foreach (var id in ids) Assert.True(store.TryGet(id, out _));
        int[] releaseOrder = [3, 1, 4, 0, 2];
        foreach (var i in releaseOrder) store.Release(ids[i]);

        var evicted = new List<int>();
        for (var n = 0; n < 5; n++)
        {
            Put(store, Id(owner, 100 + (ulong)n), new byte[Size], pinned: true);
            var gone = Enumerable.Range(0, 5).Where(i => !store.Contains(ids[i])).Except(evicted).ToList();
            Assert.Single(gone); // exactly one eviction made room
            evicted.Add(gone[0]);
            Assert.Equal(n + 1, store.Stats.Evictions);
        }
        Assert.Equal(releaseOrder, evicted);
        Assert.Equal(0, store.Stats.SpillCount);
    }

    [Fact]
    public void Without_gets_the_seal_order_is_the_eviction_order()
    {
        using var s = new StoreScope(Capacity);
        var owner = NewOwner();
        var ids = Fill(s.Store, owner, false, false, false, false, false);
        Put(s.Store, Id(owner, 100), new byte[Size]);
        Assert.False(s.Store.Contains(ids[0]));
        Assert.All(ids[1..], id => Assert.True(s.Store.Contains(id)));
        // Reading ids[1] makes it recent: ids[2] goes next.
        Assert.True(s.Store.TryGet(ids[1], out _));
        s.Store.Release(ids[1]);
        Put(s.Store, Id(owner, 101), new byte[Size]);
        Assert.True(s.Store.Contains(ids[1]));
        Assert.False(s.Store.Contains(ids[2]));
    }

    [Fact]
    public void Pinned_objects_are_never_evicted_only_spilled()
    {
        using var s = new StoreScope(Capacity);
        var store = s.Store;
        var owner = NewOwner();
        var ids = Fill(store, owner, true, false, true, false, true); // p0 u1 p2 u3 p4

        Put(store, Id(owner, 100), new byte[Size], pinned: true);
        Assert.False(store.Contains(ids[1])); // the unpinned go first, even though p0 is older
        Put(store, Id(owner, 101), new byte[Size], pinned: true);
        Assert.False(store.Contains(ids[3]));
        Assert.Equal(2, store.Stats.Evictions);
        Assert.Equal(0, store.Stats.SpillCount);

        Put(store, Id(owner, 102), new byte[Size], pinned: true); // nothing evictable: spill p0
        Assert.Equal(2, store.Stats.Evictions);
        Assert.Equal(1, store.Stats.SpillCount);
        Assert.True(store.Contains(ids[0]));
        Assert.True(store.Contains(ids[2]));
        Assert.True(store.Contains(ids[4]));
    }

    [Fact]
    public void Referenced_objects_are_never_evicted()
    {
        using var s = new StoreScope(Capacity);
        var store = s.Store;
        var owner = NewOwner();
        var ids = Fill(store, owner, false, false, false, false, false);
        Assert.True(store.TryGet(ids[0], out _));
        Assert.True(store.TryGet(ids[1], out _));

        Put(store, Id(owner, 100), new byte[Size], pinned: true);
        Assert.True(store.Contains(ids[0]));
        Assert.True(store.Contains(ids[1]));
        Assert.False(store.Contains(ids[2])); // the oldest unreferenced one

        store.Release(ids[0]); // now evictable, and the most recent in the LRU
        Put(store, Id(owner, 101), new byte[Size], pinned: true);
        Assert.False(store.Contains(ids[3]));
        Put(store, Id(owner, 102), new byte[Size], pinned: true);
        Assert.False(store.Contains(ids[4]));
        Put(store, Id(owner, 103), new byte[Size], pinned: true);
        Assert.False(store.Contains(ids[0]));
        Assert.True(store.Contains(ids[1])); // still held
        Assert.Equal(4, store.Stats.Evictions);
        Assert.True(store.TryGet(ids[1], out var info1));
        Assert.True(store.Arena.Slice(info1.DataOffset, Size).SequenceEqual(RandomBytes(Size, 1)));
    }

    [Fact]
    public void Unpin_makes_an_object_evictable_and_Pin_protects_it()
    {
        using var s = new StoreScope(Capacity);
        var store = s.Store;
        var owner = NewOwner();
        var ids = Fill(store, owner, true, false, true, true, true); // u1 is the only unpinned
        store.Pin(ids[1]);
        store.Unpin(ids[3]);
        Put(store, Id(owner, 100), new byte[Size], pinned: true);
        Assert.False(store.Contains(ids[3]));
        Assert.True(store.Contains(ids[1]));
        Assert.Equal(1, store.Stats.Evictions);
    }

    [Fact]
    public void Pinned_objects_spill_oldest_first_and_restore_with_identical_bytes()
    {
        using var s = new StoreScope(Capacity);
        var store = s.Store;
        var owner = NewOwner();
        var ids = Fill(store, owner, true, true, true, true, true);

        Put(store, Id(owner, 100), RandomBytes(Size, 100), pinned: true);
        var st = store.Stats;
        Assert.Equal(1, st.SpillCount);
        Assert.Equal(Size, st.SpilledBytes);
        Assert.Equal(1, st.SpilledObjectsNow);
        Assert.Equal(6, st.Objects);
        Assert.Equal(0, st.Evictions);
        Assert.True(st.SpillSeconds >= 0);
        Assert.Single(Directory.GetFiles(s.SpillDirectory));
        Assert.True(store.Contains(ids[0])); // spilled, still in the store

        // A get restores it; making room spills the next oldest (ids[1]).
        Assert.True(store.TryGet(ids[0], out var info));
        Assert.True(store.Arena.Slice(info.DataOffset, info.DataSize).SequenceEqual(RandomBytes(Size, 0)));
        st = store.Stats;
        Assert.Equal(1, st.RestoreCount);
        Assert.Equal(Size, st.RestoredBytes);
        Assert.Equal(2, st.SpillCount);
        Assert.Equal(2 * Size, st.SpilledBytes);
        Assert.Equal(1, st.SpilledObjectsNow);
        Assert.Single(Directory.GetFiles(s.SpillDirectory)); // ids[0]'s file is gone, ids[1]'s is there
        store.Release(ids[0]);

        Assert.True(store.TryGet(ids[1], out var info1));
        Assert.True(store.Arena.Slice(info1.DataOffset, info1.DataSize).SequenceEqual(RandomBytes(Size, 1)));
        Assert.Equal(2, store.Stats.RestoreCount);
        store.Release(ids[1]);

        // Every object, wherever it is now, still has its bytes.
        for (var i = 0; i < 5; i++)
        {
            Assert.True(store.TryGet(ids[i], out var x));
            Assert.True(store.Arena.Slice(x.DataOffset, x.DataSize).SequenceEqual(RandomBytes(Size, i)), $"object {i}");
            store.Release(ids[i]);
        }
    }

    [Fact]
    public void Deleting_a_spilled_object_removes_its_file()
    {
        using var s = new StoreScope(Capacity);
        var owner = NewOwner();
        var ids = Fill(s.Store, owner, true, true, true, true, true);
        Put(s.Store, Id(owner, 100), new byte[Size]);
        Assert.Single(Directory.GetFiles(s.SpillDirectory));
        Assert.True(s.Store.Delete(ids[0]));
        Assert.Empty(Directory.GetFiles(s.SpillDirectory));
        Assert.Equal(0, s.Store.Stats.SpilledObjectsNow);
        Assert.Equal(5, s.Store.Stats.Objects);
        Assert.False(s.Store.Contains(ids[0]));
    }

    [Fact]
    public void A_store_full_of_referenced_pinned_objects_throws_ObjectStoreFullException_naming_sizes()
    {
        using var s = new StoreScope(Capacity);
        var store = s.Store;
        var owner = NewOwner();
        var ids = Fill(store, owner, true, true, true, true, true);
        foreach (var id in ids) Assert.True(store.TryGet(id, out _));

        var ex = Assert.Throws<ObjectStoreFullException>(() => store.Create(Id(owner, 100), Size));
        Assert.Equal(PlasmaStatus.StoreFull, ex.Status);
        Assert.Equal(PlasmaStore.HeaderSize + Size, ex.RequestedBytes);
        Assert.Equal(Capacity, ex.CapacityBytes);
        Assert.Equal(5 * Charge(Size), ex.InUseBytes);
        Assert.Contains((PlasmaStore.HeaderSize + Size).ToString(), ex.Message);
        Assert.Contains(Capacity.ToString(), ex.Message);
        Assert.Contains((Capacity - 5 * Charge(Size)).ToString(), ex.Message); // the largest free block
        Assert.Equal(0, store.Stats.SpillCount);
        Assert.Equal(0, store.Stats.Evictions);
        Assert.Equal(5, store.Stats.Objects);

        store.Release(ids[2]); // one spillable object is enough
        Put(store, Id(owner, 100), new byte[Size]);
        Assert.Equal(1, store.Stats.SpillCount);
        Assert.True(store.Contains(ids[2]));
    }

    [Fact]
    public void Objects_being_written_are_neither_evicted_nor_spilled()
    {
        using var s = new StoreScope(Capacity);
        var owner = NewOwner();
        for (ulong i = 0; i < 5; i++) s.Store.Create(Id(owner, i), Size, pinned: false);
        var ex = Assert.Throws<ObjectStoreFullException>(() => s.Store.Create(Id(owner, 100), Size));
        Assert.Equal(5 * Charge(Size), ex.InUseBytes);
        s.Store.Abort(Id(owner, 0));
        s.Store.Create(Id(owner, 100), Size);
    }

    [Fact]
    public void A_restore_that_cannot_find_room_fails_cleanly_and_works_later()
    {
        using var s = new StoreScope(Capacity);
        var store = s.Store;
        var owner = NewOwner();
        var ids = Fill(store, owner, true, true, true, true, true);
        var extra = Id(owner, 100);
        Put(store, extra, new byte[Size]); // spills ids[0]
        for (var i = 1; i < 5; i++) Assert.True(store.TryGet(ids[i], out _));
        Assert.True(store.TryGet(extra, out _));

        var ex = Assert.Throws<ObjectStoreFullException>(() => store.TryGet(ids[0], out _));
        Assert.Equal(PlasmaStatus.StoreFull, ex.Status);
        Assert.True(store.Contains(ids[0])); // still spilled, not lost
        Assert.Equal(1, store.Stats.SpilledObjectsNow);

        store.Release(extra);
        Assert.True(store.TryGet(ids[0], out var info));
        Assert.True(store.Arena.Slice(info.DataOffset, info.DataSize).SequenceEqual(RandomBytes(Size, 0)));
    }
}
