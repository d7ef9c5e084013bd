using Ray.Plasma.Client;

namespace Ray.Plasma.Tests;

/// <summary>The GPU hook: what the store asks a device pinner to page-lock, and when it unpins.</summary>
public class DevicePinTests
{
    private sealed class RecordingPinner : IDevicePinner
    {
        public readonly List<(nint Address, long Length)> Pinned = new();
        public readonly List<(nint Address, long Length)> Unpinned = new();

        public IDisposable Pin(nint address, long length)
        {
            lock (this) Pinned.Add((address, length));
            return new Unpin(this, address, length);
        }

        private sealed class Unpin(RecordingPinner owner, nint address, long length) : IDisposable
        {
            private int _done;
            public void Dispose()
            {
                if (Interlocked.Exchange(ref _done, 1) != 0) throw new InvalidOperationException("unpinned twice");
                lock (owner) owner.Unpinned.Add((address, length));
            }
        }
    }

    [Fact]
    public unsafe void PinArena_PinsTheWholeMapping_AndUnpinsOnDisposeOrStoreShutdown()
    {
        var pinner = new RecordingPinner();
        using (var scope = new StoreScope(1 << 20))
        {
            var lease = scope.Store.PinArena(pinner);
            Assert.Equal(((nint)scope.Store.Arena.Base, scope.Store.Arena.Capacity), Assert.Single(pinner.Pinned));
            lease.Dispose();
            lease.Dispose(); // harmless
            Assert.Single(pinner.Unpinned);
            scope.Store.PinArena(pinner); // left pinned: the store must unpin before unmapping
        }
        Assert.Equal(2, pinner.Unpinned.Count);
    }

    [Fact]
    public async Task PinForDevice_PinsTheObjectsBytes_AndTheViewsReleaseUnpins()
    {
        using var scope = new StoreScope(1 << 20);
        var client = new PlasmaLocalClient(scope.Store);
        var id = new PlasmaObjectId(1, 1);
        await client.PutAsync(id, new byte[4096]);
        var pinner = new RecordingPinner();
        var view = client.TryGet(id)!;
        var pin = view.PinForDevice(pinner);
        Assert.Equal((view.Pointer, 4096L), Assert.Single(pinner.Pinned));
        pin.Dispose();
        Assert.Single(pinner.Unpinned);
        view.PinForDevice(pinner);
        view.Dispose(); // releasing the view unpins what is still pinned
        Assert.Equal(2, pinner.Unpinned.Count);
        Assert.Throws<ObjectDisposedException>(() => view.PinForDevice(pinner));
    }
}

/// <summary>A create that could never fit must fail before it evicts or spills anything.</summary>
public class FragmentedStoreTests
{
    [Fact]
    public async Task OversizedCreate_OnAFragmentedStore_FailsWithoutEvictingOrSpilling()
    {
        using var scope = new StoreScope(4 << 20);
        var store = scope.Store;
        var client = new PlasmaLocalClient(store);
        // Four 1 MiB slots (minus headers): held, evictable, held, spillable.
        var size = (1 << 20) - 2 * 64;
        var ids = Enumerable.Range(1, 4).Select(i => new PlasmaObjectId(3, (ulong)i)).ToArray();
        for (var i = 0; i < 4; i++)
        {
            var w = client.Create(ids[i], size, pinned: i != 1);
            await w.SealAsync();
        }
        using var held0 = client.TryGet(ids[0])!;
        using var held2 = client.TryGet(ids[2])!;
        // 2 MiB could be reclaimed in total, but never contiguously: slots 0 and 2 are in use.
        Assert.Throws<ObjectStoreFullException>(() => client.Create(new PlasmaObjectId(3, 99), (3 << 19)));
        var stats = store.Stats;
        Assert.Equal(0, stats.Evictions);
        Assert.Equal(0, stats.SpillCount);
        Assert.True(store.Contains(ids[1]) && store.Contains(ids[3]));
    }
}

/// <summary>The count of objects on disk follows spills, restores and deletes.</summary>
public class SpilledCountTests
{
    [Fact]
    public async Task SpilledObjectsNow_FollowsSpillRestoreAndDelete()
    {
        using var scope = new StoreScope(4 << 20);
        var client = new PlasmaLocalClient(scope.Store);
        var ids = Enumerable.Range(1, 6).Select(i => new PlasmaObjectId(5, (ulong)i)).ToArray();
        foreach (var id in ids) await client.PutAsync(id, new byte[(1 << 20) - 128]); // 6 x ~1 MiB into 4 MiB: 2+ spill
        var spilled = scope.Store.Stats.SpilledObjectsNow;
        Assert.True(spilled >= 2, $"spilled {spilled}");
        Assert.Equal(scope.Store.Stats.SpillCount - scope.Store.Stats.RestoreCount, spilled);
        Assert.True(scope.Store.Delete(ids[0])); // the oldest is on disk
        Assert.Equal(spilled - 1, scope.Store.Stats.SpilledObjectsNow);
        using (client.TryGet(ids[1])!) { } // restores it (and may spill another)
        var s = scope.Store.Stats;
        Assert.Equal(s.SpillCount - s.RestoreCount - 1, s.SpilledObjectsNow); // minus the deleted one
    }
}
