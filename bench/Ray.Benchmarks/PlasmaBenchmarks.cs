using BenchmarkDotNet.Attributes;
using Ray.Plasma;
using Ray.Plasma.Client;
using Ray.Plasma.Store;

namespace Ray.Benchmarks;

/// <summary>
/// The shared-memory store in process: the object table's create/seal/get/release/delete
/// cycle, a zero-copy view of a 64 MiB object, and the allocator on its own.
/// </summary>
[MemoryDiagnoser]
[ShortRunJob]
public class PlasmaBenchmarks
{
    private PlasmaStore _store = null!;
    private PlasmaLocalClient _client = null!;
    private ArenaAllocator _allocator = null!;
    private readonly PlasmaObjectId _big = new(9, 9);
    private ulong _next;
    private readonly byte[] _oneKiB = new byte[1024];

    [GlobalSetup]
    public void Setup()
    {
        _store = new PlasmaStore(new PlasmaStoreOptions { CapacityBytes = 256L << 20 });
        _client = new PlasmaLocalClient(_store);
        _client.PutAsync(_big, new byte[64 << 20]).AsTask().GetAwaiter().GetResult();
        _allocator = new ArenaAllocator(1L << 30);
    }

    [GlobalCleanup]
    public void Cleanup() => _store.Dispose();

    /// <summary>Create, copy 1 KiB, seal, delete: one small put through the table.</summary>
    [Benchmark]
    public void Put_1KiB_Delete()
    {
        var id = new PlasmaObjectId(1, ++_next);
        var w = _client.Create(id, _oneKiB.Length);
        _oneKiB.CopyTo(w.Span);
        w.SealAsync().GetAwaiter().GetResult();
        _store.Delete(id);
    }

    /// <summary>A zero-copy view of a 64 MiB object: take and release.</summary>
    [Benchmark]
    public int View_64MiB()
    {
        using var v = _client.TryGet(_big)!;
        return v.Span[12345];
    }

    /// <summary>Allocate and free a 64 KiB block next to others (best fit, coalescing).</summary>
    [Benchmark]
    public void Allocator_AllocateFree_64KiB()
    {
        _allocator.TryAllocate(64 << 10, out var a);
        _allocator.TryAllocate(64 << 10, out var b);
        _allocator.Free(a, 64 << 10);
        _allocator.Free(b, 64 << 10);
    }
}
