using System.Buffers.Binary;
using Ray.Plasma.Store;
using static Ray.Plasma.Tests.TestUtil;

namespace Ray.Plasma.Tests;

/// <summary>The object table: create -> write -> seal -> get -> release -> delete, and its errors.</summary>
public class StoreTableTests
{
    private const long MiB = 1 << 20;

    [Fact]
    public void DeleteWhere_frees_the_matching_sealed_objects_and_defers_those_being_read()
    {
        using var s = new StoreScope(4 * MiB);
        var store = s.Store;
        var gone = NewOwner();
        var kept = NewOwner();
        foreach (var id in new[] { Id(gone, 1), Id(gone, 2), Id(kept, 1) })
        {
            store.Create(id, 1000);
            store.Seal(id);
        }
        store.Create(Id(gone, 3), 1000); // still being written: not touched
        Assert.True(store.TryGet(Id(gone, 2), out _)); // a reader holds it

        Assert.Equal(2, store.DeleteWhere(id => id.Owner == gone));
        Assert.False(store.Contains(Id(gone, 1)));
        Assert.False(store.TryGet(Id(gone, 2), out _)); // delete pending: no new readers
        Assert.True(store.Contains(Id(kept, 1)));
        store.Release(Id(gone, 2)); // the last reader lets go: now it is freed
        store.Abort(Id(gone, 3));
        Assert.Equal(1, store.Stats.Objects);
        Assert.Equal(0, store.DeleteWhere(id => id.Owner == gone));
    }

    [Fact]
    public void Full_lifecycle_create_write_seal_get_release_delete()
    {
        using var s = new StoreScope(4 * MiB);
        var store = s.Store;
        var id = Id(NewOwner(), 1);
        var data = RandomBytes(10_000, 1);

        var offset = store.Create(id, data.Length, typeTag: 42, pinned: true);
        Assert.Equal(0, offset % ArenaAllocator.Alignment);
        Assert.Equal(Charge(data.Length), store.Stats.UsedBytes);
        Assert.Equal(1, store.Stats.Objects);
        Assert.False(store.Contains(id)); // not sealed yet
        Assert.False(store.TryGet(id, out _));

        data.CopyTo(store.Arena.Slice(offset, data.Length));
        store.Seal(id);
        Assert.True(store.Contains(id));

        Assert.True(store.TryGet(id, out var info));
        Assert.Equal(new PlasmaObjectInfo(id, offset, data.Length, 42), info);
        Assert.True(store.Arena.Slice(info.DataOffset, info.DataSize).SequenceEqual(data));
        store.Release(id);

        Assert.True(store.Delete(id));
        Assert.False(store.Contains(id));
        Assert.False(store.TryGet(id, out _));
        Assert.False(store.Delete(id)); // gone
        var stats = store.Stats;
        Assert.Equal(0, stats.UsedBytes);
        Assert.Equal(0, stats.Objects);
        Assert.Equal(1, stats.FreeBlocks);
        Assert.Equal(stats.CapacityBytes, stats.LargestFreeBlock);
    }

    [Fact]
    public void Header_in_the_arena_carries_magic_type_tag_size_and_id()
    {
        using var s = new StoreScope(1 * MiB);
        var id = Id(0x1122334455667788, 0x99);
        var info = Put(s.Store, id, RandomBytes(333, 2), typeTag: 0xBEEF);
        var h = s.Store.Arena.Slice(info.DataOffset - PlasmaStore.HeaderSize, PlasmaStore.HeaderSize);
        Assert.Equal(0x52504c41u, BinaryPrimitives.ReadUInt32LittleEndian(h)); // "RPLA"
        Assert.Equal(0xBEEFu, BinaryPrimitives.ReadUInt32LittleEndian(h[4..]));
        Assert.Equal(333, BinaryPrimitives.ReadInt64LittleEndian(h[8..]));
        Assert.Equal(id.Owner, BinaryPrimitives.ReadUInt64LittleEndian(h[16..]));
        Assert.Equal(id.Sequence, BinaryPrimitives.ReadUInt64LittleEndian(h[24..]));

        Assert.True(s.Store.TryGet(id, out var got));
        Assert.Equal(0xBEEFu, got.TypeTag);
        Assert.Equal(333, got.DataSize);
        s.Store.Release(id);
    }

    [Fact]
    public void Zero_byte_objects_are_allowed()
    {
        using var s = new StoreScope(1 * MiB);
        var id = Id(NewOwner(), 1);
        s.Store.Create(id, 0);
        s.Store.Seal(id);
        Assert.True(s.Store.TryGet(id, out var info));
        Assert.Equal(0, info.DataSize);
        s.Store.Release(id);
        Assert.True(s.Store.Delete(id));
        Assert.Equal(0, s.Store.Stats.UsedBytes);
    }

    [Fact]
    public async Task GetAsync_of_an_unknown_id_completes_when_another_thread_creates_and_seals_it()
    {
        using var s = new StoreScope(1 * MiB);
        var id = Id(NewOwner(), 1);
        var get = s.Store.GetAsync(id, TimeSpan.FromSeconds(20));
        await Task.Delay(50);
        Assert.False(get.IsCompleted);

        var offset = s.Store.Create(id, 8);
        s.Store.Arena.Slice(offset, 8).Fill(7);
        await Task.Delay(50);
        Assert.False(get.IsCompleted); // created is not enough

        var sealer = Task.Run(async () => { await Task.Delay(50); s.Store.Seal(id); });
        var info = await WithTimeout(get, TimeSpan.FromSeconds(10), "GetAsync after Seal");
        await sealer;
        Assert.Equal(offset, info.DataOffset);
        Assert.Equal(8, info.DataSize);
        s.Store.Release(id);
    }

    [Fact]
    public async Task Many_waiters_on_one_id_all_complete_at_seal()
    {
        using var s = new StoreScope(1 * MiB);
        var id = Id(NewOwner(), 1);
        var gets = Enumerable.Range(0, 20).Select(_ => s.Store.GetAsync(id, TimeSpan.FromSeconds(20))).ToArray();
        Put(s.Store, id, new byte[100]);
        var infos = await WithTimeout(Task.WhenAll(gets), TimeSpan.FromSeconds(10), "20 waiters");
        Assert.All(infos, i => Assert.Equal(100, i.DataSize));
        // 20 references: the delete waits for all of them.
        Assert.True(s.Store.Delete(id));
        for (var i = 0; i < 19; i++) s.Store.Release(id);
        Assert.Equal(Charge(100), s.Store.Stats.UsedBytes);
        s.Store.Release(id);
        Assert.Equal(0, s.Store.Stats.UsedBytes);
    }

    [Fact]
    public async Task GetAsync_times_out_with_Timeout_status_and_a_later_seal_still_works()
    {
        using var s = new StoreScope(1 * MiB);
        var id = Id(NewOwner(), 1);
        s.Store.Create(id, 16);
        var ex = await Assert.ThrowsAsync<PlasmaException>(() => s.Store.GetAsync(id, TimeSpan.FromMilliseconds(100)));
        Assert.Equal(PlasmaStatus.Timeout, ex.Status);
        var blocking = Assert.Throws<PlasmaException>(() => s.Store.Get(id, TimeSpan.FromMilliseconds(50)));
        Assert.Equal(PlasmaStatus.Timeout, blocking.Status);
        var zero = await Assert.ThrowsAsync<PlasmaException>(() => s.Store.GetAsync(id, TimeSpan.Zero));
        Assert.Equal(PlasmaStatus.Timeout, zero.Status);

        s.Store.Seal(id);
        var info = await s.Store.GetAsync(id, TimeSpan.Zero);
        Assert.Equal(16, info.DataSize);
        s.Store.Release(id);
    }

    [Fact]
    public async Task GetAsync_with_a_timeout_of_months_waits_for_the_seal()
    {
        // Any TimeSpan should be a valid timeout; Task.WaitAsync refuses more than ~49.7 days.
        using var s = new StoreScope(1 * MiB);
        var id = Id(NewOwner(), 1);
        var get = s.Store.GetAsync(id, TimeSpan.FromDays(100));
        Put(s.Store, id, new byte[8]);
        var info = await WithTimeout(get, TimeSpan.FromSeconds(10), "GetAsync(100 days)");
        Assert.Equal(8, info.DataSize);
        s.Store.Release(id);
    }

    [Fact]
    public async Task GetAsync_can_be_cancelled_and_the_waiter_does_not_take_a_reference()
    {
        using var s = new StoreScope(1 * MiB);
        var id = Id(NewOwner(), 1);
        using var cts = new CancellationTokenSource();
        var get = s.Store.GetAsync(id, Timeout.InfiniteTimeSpan, cancel: cts.Token);
        cts.CancelAfter(50);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => get);
        Put(s.Store, id, new byte[8]);
        Assert.True(s.Store.Delete(id)); // no reader: freed at once
        Assert.Equal(0, s.Store.Stats.UsedBytes);
    }

    [Fact]
    public async Task Dispose_fails_waiting_getters_with_Disconnected()
    {
        var s = new StoreScope(1 * MiB);
        Task<PlasmaObjectInfo> get;
        try
        {
            get = s.Store.GetAsync(Id(NewOwner(), 1), TimeSpan.FromSeconds(30));
        }
        finally { s.Dispose(); }
        var ex = await Assert.ThrowsAsync<PlasmaException>(() => WithTimeout(get, TimeSpan.FromSeconds(5), "GetAsync after Dispose"));
        Assert.Equal(PlasmaStatus.Disconnected, ex.Status);
        var after = Assert.Throws<PlasmaException>(() => s.Store.Create(Id(1, 1), 1));
        Assert.Equal(PlasmaStatus.Disconnected, after.Status);
    }

    [Fact]
    public void Double_seal_and_abort_after_seal_are_ObjectAlreadySealed()
    {
        using var s = new StoreScope(1 * MiB);
        var id = Id(NewOwner(), 1);
        Put(s.Store, id, new byte[10]);
        Assert.Equal(PlasmaStatus.ObjectAlreadySealed, Assert.Throws<PlasmaException>(() => s.Store.Seal(id)).Status);
        Assert.Equal(PlasmaStatus.ObjectAlreadySealed, Assert.Throws<PlasmaException>(() => s.Store.Abort(id)).Status);
        Assert.True(s.Store.Contains(id)); // unharmed
    }

    [Fact]
    public void Unknown_ids_are_ObjectNotFound()
    {
        using var s = new StoreScope(1 * MiB);
        var id = Id(NewOwner(), 404);
        Assert.Equal(PlasmaStatus.ObjectNotFound, Assert.Throws<PlasmaException>(() => s.Store.Seal(id)).Status);
        Assert.Equal(PlasmaStatus.ObjectNotFound, Assert.Throws<PlasmaException>(() => s.Store.Abort(id)).Status);
        Assert.Equal(PlasmaStatus.ObjectNotFound, Assert.Throws<PlasmaException>(() => s.Store.Release(id)).Status);
        Assert.Equal(PlasmaStatus.ObjectNotFound, Assert.Throws<PlasmaException>(() => s.Store.Pin(id)).Status);
        Assert.Equal(PlasmaStatus.ObjectNotFound, Assert.Throws<PlasmaException>(() => s.Store.Unpin(id)).Status);
        Assert.False(s.Store.Delete(id));
        Assert.False(s.Store.Contains(id));
        Assert.False(s.Store.TryGet(id, out _));
    }

    [Fact]
    public void Duplicate_create_is_ObjectExists_and_leaves_the_original_intact()
    {
        using var s = new StoreScope(1 * MiB);
        var id = Id(NewOwner(), 1);
        var offset = s.Store.Create(id, 100);
        s.Store.Arena.Slice(offset, 100).Fill(9);
        Assert.Equal(PlasmaStatus.ObjectExists, Assert.Throws<PlasmaException>(() => s.Store.Create(id, 100)).Status);
        Assert.Equal(PlasmaStatus.ObjectExists, Assert.Throws<PlasmaException>(() => s.Store.Create(id, 5)).Status);
        Assert.Equal(Charge(100), s.Store.Stats.UsedBytes); // the failed creates reserved nothing
        s.Store.Seal(id);
        Assert.Equal(PlasmaStatus.ObjectExists, Assert.Throws<PlasmaException>(() => s.Store.Create(id, 100)).Status);
        Assert.True(s.Store.TryGet(id, out var info));
        Assert.Equal(100, info.DataSize);
        Assert.True(s.Store.Arena.Slice(info.DataOffset, 100).ToArray().All(b => b == 9));
        s.Store.Release(id);
    }

    [Fact]
    public void Abort_of_an_unsealed_object_frees_its_space_and_the_id()
    {
        using var s = new StoreScope(1 * MiB);
        var before = s.Store.Stats;
        var id = Id(NewOwner(), 1);
        s.Store.Create(id, 200_000);
        Assert.Equal(Charge(200_000), s.Store.Stats.UsedBytes);
        s.Store.Abort(id);
        Assert.Equal(before.UsedBytes, s.Store.Stats.UsedBytes);
        Assert.Equal(1, s.Store.Stats.FreeBlocks);
        Assert.Equal(0, s.Store.Stats.Objects);
        Assert.Equal(PlasmaStatus.ObjectNotFound, Assert.Throws<PlasmaException>(() => s.Store.Seal(id)).Status);
        Put(s.Store, id, new byte[10]); // the id is free again
        Assert.True(s.Store.Contains(id));
    }

    [Fact]
    public void Bad_sizes_are_InvalidRequest_or_TooLarge_and_reserve_nothing()
    {
        using var s = new StoreScope(1 * MiB);
        var cap = s.Store.Stats.CapacityBytes;
        var owner = NewOwner();
        Assert.Equal(PlasmaStatus.InvalidRequest, Assert.Throws<PlasmaException>(() => s.Store.Create(Id(owner, 1), -1)).Status);
        Assert.Equal(PlasmaStatus.InvalidRequest, Assert.Throws<PlasmaException>(() => s.Store.Create(Id(owner, 1), long.MinValue)).Status);
        Assert.Equal(PlasmaStatus.TooLarge, Assert.Throws<PlasmaException>(() => s.Store.Create(Id(owner, 2), cap)).Status);
        Assert.Equal(PlasmaStatus.TooLarge, Assert.Throws<PlasmaException>(() => s.Store.Create(Id(owner, 2), cap - PlasmaStore.HeaderSize + 1)).Status);
        Assert.Equal(PlasmaStatus.TooLarge, Assert.Throws<PlasmaException>(() => s.Store.Create(Id(owner, 3), long.MaxValue)).Status);
        Assert.Equal(PlasmaStatus.TooLarge, Assert.Throws<PlasmaException>(() => s.Store.Create(Id(owner, 4), 3L << 30)).Status);
        Assert.Equal(0, s.Store.Stats.UsedBytes);
        Assert.Equal(0, s.Store.Stats.Objects);
        // Exactly the capacity, header included, fits.
        s.Store.Create(Id(owner, 5), cap - PlasmaStore.HeaderSize);
        Assert.Equal(cap, s.Store.Stats.UsedBytes);
    }

    [Fact]
    public void Delete_while_a_reader_holds_it_defers_the_free_until_the_last_release()
    {
        using var s = new StoreScope(1 * MiB);
        var id = Id(NewOwner(), 1);
        var data = RandomBytes(50_000, 3);
        Put(s.Store, id, data);
        Assert.True(s.Store.TryGet(id, out var info));
        var used = s.Store.Stats.UsedBytes;

        Assert.True(s.Store.Delete(id));
        Assert.False(s.Store.Contains(id)); // gone for new getters
        Assert.False(s.Store.TryGet(id, out _));
        Assert.Equal(used, s.Store.Stats.UsedBytes); // but not freed under the reader
        Assert.True(s.Store.Arena.Slice(info.DataOffset, info.DataSize).SequenceEqual(data));

        s.Store.Release(id);
        Assert.Equal(0, s.Store.Stats.UsedBytes);
        Assert.Equal(0, s.Store.Stats.Objects);
    }

    [Fact]
    public void Delete_of_an_object_being_written_is_ObjectNotSealed()
    {
        using var s = new StoreScope(1 * MiB);
        var id = Id(NewOwner(), 1);
        s.Store.Create(id, 10);
        Assert.Equal(PlasmaStatus.ObjectNotSealed, Assert.Throws<PlasmaException>(() => s.Store.Delete(id)).Status);
        s.Store.Abort(id);
    }

    [Fact]
    public void Only_the_creator_seals_or_aborts_and_only_a_holder_releases()
    {
        using var s = new StoreScope(1 * MiB);
        var id = Id(NewOwner(), 1);
        s.Store.Create(id, 10, client: 5);
        Assert.Equal(PlasmaStatus.InvalidRequest, Assert.Throws<PlasmaException>(() => s.Store.Seal(id, client: 6)).Status);
        Assert.Equal(PlasmaStatus.InvalidRequest, Assert.Throws<PlasmaException>(() => s.Store.Abort(id, client: 6)).Status);
        s.Store.Seal(id, client: 5);
        Assert.True(s.Store.TryGet(id, out _, client: 7));
        Assert.Equal(PlasmaStatus.InvalidRequest, Assert.Throws<PlasmaException>(() => s.Store.Release(id, client: 8)).Status);
        s.Store.Release(id, client: 7);
        Assert.Equal(PlasmaStatus.InvalidRequest, Assert.Throws<PlasmaException>(() => s.Store.Release(id, client: 7)).Status);
    }

    [Fact]
    public void DisconnectClient_aborts_its_unsealed_objects_and_drops_its_references()
    {
        using var s = new StoreScope(1 * MiB);
        var owner = NewOwner();
        var mine = Id(owner, 1);
        var shared = Id(owner, 2);
        var others = Id(owner, 3);
        s.Store.Create(mine, 1000, client: 9);
        Put(s.Store, shared, new byte[1000]);
        s.Store.Create(others, 1000, client: 10);
        Assert.True(s.Store.TryGet(shared, out _, client: 9));
        Assert.True(s.Store.TryGet(shared, out _, client: 9));
        Assert.True(s.Store.Delete(shared)); // deferred: client 9 reads it twice

        s.Store.DisconnectClient(9);
        Assert.Equal(Charge(1000), s.Store.Stats.UsedBytes); // only client 10's reservation is left
        Assert.Equal(1, s.Store.Stats.Objects);
        Assert.Equal(PlasmaStatus.ObjectNotFound, Assert.Throws<PlasmaException>(() => s.Store.Seal(mine, client: 9)).Status);
        s.Store.Seal(others, client: 10);
    }
}
