using System.Runtime.InteropServices;
using Ray.Plasma.Client;
using static Ray.Plasma.Tests.TestUtil;

namespace Ray.Plasma.Tests;

/// <summary>PlasmaBuffer (read views) and PlasmaWriteBuffer through the in-process client.</summary>
public class ViewTests
{
    private const long MiB = 1 << 20;

    [Fact]
    public async Task Typed_views_see_the_values_written()
    {
        using var s = new StoreScope(2 * MiB);
        var client = new PlasmaLocalClient(s.Store);
        var id = Id(NewOwner(), 1);
        var values = Enumerable.Range(0, 10_000).Select(i => (long)i * i - 7).ToArray();

        var w = client.Create(id, values.Length * sizeof(long), typeTag: 3);
        Assert.Equal(values.Length * sizeof(long), w.Length);
        values.AsSpan().CopyTo(MemoryMarshal.Cast<byte, long>(w.Span));
        await w.SealAsync();

        using var view = client.Get(id, TimeSpan.FromSeconds(1));
        Assert.Equal(values.Length * sizeof(long), view.Length);
        Assert.Equal(3u, view.Info.TypeTag);
        Assert.Equal(id, view.Id);
        Assert.True(view.AsSpan<long>().SequenceEqual(values));
        Assert.True(view.AsMemory<long>().Span.SequenceEqual(values));
        Assert.True(MemoryMarshal.Cast<byte, long>(view.Span).SequenceEqual(values));
        Assert.True(view.Memory.Span.SequenceEqual(view.Span));
        Assert.Equal(values.Length * 2, view.AsSpan<int>().Length);
        unsafe { Assert.Equal((nint)(s.Store.Arena.Base + view.Info.DataOffset), view.Pointer); }
    }

    [Fact]
    public async Task A_size_that_is_not_a_multiple_of_the_element_is_refused()
    {
        using var s = new StoreScope(1 * MiB);
        var client = new PlasmaLocalClient(s.Store);
        var id = Id(NewOwner(), 1);
        await client.PutAsync(id, new byte[12]);
        using var view = client.Get(id, TimeSpan.Zero);
        Assert.Equal(3, view.AsSpan<int>().Length);
        Assert.Throws<InvalidOperationException>(() => view.AsSpan<long>().Length);
        Assert.Throws<InvalidOperationException>(() => view.AsMemory<long>());
    }

    [Fact]
    public async Task A_view_used_after_Dispose_throws_ObjectDisposedException()
    {
        using var s = new StoreScope(1 * MiB);
        var client = new PlasmaLocalClient(s.Store);
        var id = Id(NewOwner(), 1);
        await client.PutAsync(id, RandomBytes(64, 1));
        var view = client.Get(id, TimeSpan.Zero);
        var memory = view.Memory;         // taken while held
        var longs = view.AsMemory<long>();
        Assert.False(view.IsReleased);

        view.Dispose();
        Assert.True(view.IsReleased);
        Assert.Throws<ObjectDisposedException>(() => view.Span.Length);
        Assert.Throws<ObjectDisposedException>(() => view.Memory);
        Assert.Throws<ObjectDisposedException>(() => view.AsSpan<long>().Length);
        Assert.Throws<ObjectDisposedException>(() => view.AsMemory<long>());
        Assert.Throws<ObjectDisposedException>(() => view.Pointer);
        Assert.Throws<ObjectDisposedException>(() => memory.Span.Length);
        Assert.Throws<ObjectDisposedException>(() => longs.Span.Length);
        Assert.Throws<ObjectDisposedException>(() => memory.Pin());
        Assert.Throws<ObjectDisposedException>(() => memory.ToArray());
        // Metadata stays readable.
        Assert.Equal(64, view.Length);
        Assert.Equal(id, view.Id);
    }

    [Fact]
    public async Task Double_Dispose_releases_one_reference_only()
    {
        using var s = new StoreScope(1 * MiB);
        var client = new PlasmaLocalClient(s.Store);
        var id = Id(NewOwner(), 1);
        await client.PutAsync(id, new byte[1000]);
        var first = client.Get(id, TimeSpan.Zero);
        var second = client.Get(id, TimeSpan.Zero);
        first.Dispose();
        first.Dispose(); // harmless: must not give back the second view's reference
        Assert.True(s.Store.Delete(id));
        Assert.Equal(Charge(1000), s.Store.Stats.UsedBytes); // still held by `second`
        Assert.Equal(1000, second.Span.Length);
        second.Dispose();
        second.Dispose();
        Assert.Equal(0, s.Store.Stats.UsedBytes);
    }

    [Fact]
    public async Task Views_pin_memory_with_a_stable_address()
    {
        using var s = new StoreScope(1 * MiB);
        var client = new PlasmaLocalClient(s.Store);
        var id = Id(NewOwner(), 1);
        await client.PutAsync(id, RandomBytes(256, 5));
        using var view = client.Get(id, TimeSpan.Zero);
        using var handle = view.Memory.Pin();
        unsafe { Assert.Equal(view.Pointer, (nint)handle.Pointer); }
        var slice = view.Memory[10..20];
        Assert.True(slice.Span.SequenceEqual(view.Span[10..20]));
    }

    [Fact]
    public async Task Write_buffer_seals_once_and_aborts_on_dispose()
    {
        using var s = new StoreScope(1 * MiB);
        var client = new PlasmaLocalClient(s.Store);
        var owner = NewOwner();

        var sealedId = Id(owner, 1);
        var w = await client.CreateAsync(sealedId, 100);
        w.Span.Fill(1);
        await w.SealAsync();
        Assert.Throws<ObjectDisposedException>(() => w.Span.Length);
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await w.SealAsync());
        await w.DisposeAsync(); // after seal: nothing to abort
        Assert.True(await client.ContainsAsync(sealedId));

        var abandoned = Id(owner, 2);
        using (var w2 = client.Create(abandoned, 5000)) w2.Span.Fill(2); // disposed without seal
        Assert.False(await client.ContainsAsync(abandoned));
        Assert.Equal(Charge(100), s.Store.Stats.UsedBytes);
        Assert.Equal(0, (await client.StatsAsync()).SpillCount);
        Assert.True(await client.DeleteAsync(sealedId));
        Assert.False(await client.DeleteAsync(sealedId));
    }

    [Fact]
    public async Task Local_GetAsync_waits_for_a_seal()
    {
        using var s = new StoreScope(1 * MiB);
        var client = new PlasmaLocalClient(s.Store);
        var id = Id(NewOwner(), 1);
        Assert.Null(client.TryGet(id));
        var pending = client.GetAsync(id, TimeSpan.FromSeconds(20)).AsTask();
        await Task.Delay(30);
        Assert.False(pending.IsCompleted);
        await client.PutAsync(id, new byte[] { 1, 2, 3 });
        using var view = await WithTimeout(pending, TimeSpan.FromSeconds(10), "local GetAsync");
        Assert.Equal(new byte[] { 1, 2, 3 }, view.Span.ToArray());
    }
}
