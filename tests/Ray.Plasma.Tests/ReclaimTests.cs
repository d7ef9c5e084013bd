using Ray.Plasma.Client;
using static Ray.Plasma.Tests.TestUtil;

namespace Ray.Plasma.Tests;

/// <summary>
/// A client that keeps views it is not using (HoldsViews) is asked to drop them (Reclaim)
/// before the store reports a create or a restore full. A 1 MiB arena holds five 200 000-byte objects.
/// </summary>
public class ReclaimTests
{
    private const long Capacity = 1 << 20;
    private const int Size = 200_000;
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task Unused_views_a_client_keeps_are_released_when_the_store_needs_room_and_views_in_use_are_not()
    {
        await using var s = ServerScope.Start(Capacity);
        await using var keeper = await PlasmaClient.ConnectAsync(s.SocketPath);
        await using var writer = await PlasmaClient.ConnectAsync(s.SocketPath);
        var owner = NewOwner();
        var ids = Enumerable.Range(0, 5).Select(i => Id(owner, (ulong)i)).ToArray();
        for (var i = 0; i < 5; i++) await writer.PutAsync(ids[i], RandomBytes(Size, i));

        // The keeper holds a view of every object: nothing can be spilled. Views 0-3 are "unused"
        // (released when asked), view 4 is in use.
        var kept = new List<PlasmaBuffer>();
        foreach (var id in ids) kept.Add(await keeper.GetAsync(id, Wait));
        var asked = 0;
        keeper.ReleaseUnusedViewsWhenAsked(() =>
        {
            Interlocked.Increment(ref asked);
            long freed = 0;
            lock (kept)
            {
                foreach (var v in kept.Take(4).Where(v => !v.IsReleased))
                {
                    freed += v.Length;
                    v.Dispose();
                }
            }
            return freed;
        });
        await keeper.ContainsAsync(ids[0]); // the HoldsViews message is one way: a round trip on its connection orders it

        // A create from another client: the store asks the keeper, which drops views 0-3, and
        // the oldest object is spilled to make room.
        await writer.PutAsync(Id(owner, 100), RandomBytes(Size, 100));
        Assert.Equal(1, asked);
        Assert.Equal(1, s.Store.Stats.SpillCount);
        Assert.True(kept[4].Span.SequenceEqual(RandomBytes(Size, 4))); // the view in use is intact

        // A restore works the same way; every object reads back.
        for (var i = 0; i < 4; i++)
        {
            using var v = await writer.GetAsync(ids[i], Wait);
            Assert.True(v.Span.SequenceEqual(RandomBytes(Size, i)), $"object {i}");
        }

        // With only views in use left, the store is full: said so, with sizes, after asking.
        using var a = await writer.GetAsync(ids[0], Wait);
        using var b = await writer.GetAsync(ids[1], Wait);
        using var c = await writer.GetAsync(ids[2], Wait);
        using var d = await writer.GetAsync(Id(owner, 100), Wait);
        var full = await Assert.ThrowsAsync<PlasmaException>(async () => await writer.PutAsync(Id(owner, 101), new byte[Size]));
        Assert.Equal(PlasmaStatus.StoreFull, full.Status);
        Assert.Contains("bytes requested", full.Message);
        Assert.True(asked >= 2);
        kept[4].Dispose();
    }

    [Fact]
    public async Task A_client_with_nothing_to_release_is_asked_once_and_the_store_is_full()
    {
        await using var s = ServerScope.Start(Capacity);
        await using var writer = await PlasmaClient.ConnectAsync(s.SocketPath);
        await using var keeper = await PlasmaClient.ConnectAsync(s.SocketPath);
        var owner = NewOwner();
        var views = new List<PlasmaBuffer>();
        for (var i = 0; i < 5; i++)
        {
            await writer.PutAsync(Id(owner, (ulong)i), new byte[Size]);
            views.Add(await writer.GetAsync(Id(owner, (ulong)i), Wait));
        }
        var asked = 0;
        keeper.ReleaseUnusedViewsWhenAsked(() => { Interlocked.Increment(ref asked); return 0; }); // answers at once, releases nothing
        await keeper.ContainsAsync(Id(owner, 0)); // orders the one-way HoldsViews before the create below
        var full = await Assert.ThrowsAsync<PlasmaException>(async () => await writer.PutAsync(Id(owner, 100), new byte[Size]));
        Assert.Equal(PlasmaStatus.StoreFull, full.Status);
        Assert.Equal(1, Volatile.Read(ref asked)); // asked once: nothing released, no second round
        foreach (var v in views) v.Dispose();
    }

    [Fact]
    public async Task A_client_that_does_not_answer_a_reclaim_delays_a_full_store_once_and_is_not_asked_again()
    {
        await using var s = ServerScope.Start(Capacity);
        await using var writer = await PlasmaClient.ConnectAsync(s.SocketPath);
        await using var stuck = await PlasmaClient.ConnectAsync(s.SocketPath);
        var owner = NewOwner();
        var views = new List<PlasmaBuffer>();
        for (var i = 0; i < 5; i++)
        {
            await writer.PutAsync(Id(owner, (ulong)i), new byte[Size]);
            views.Add(await writer.GetAsync(Id(owner, (ulong)i), Wait));
        }
        using var release = new ManualResetEventSlim();
        var asked = 0;
        stuck.ReleaseUnusedViewsWhenAsked(() => // blocks its receive thread until released
        {
            Interlocked.Increment(ref asked);
            release.Wait(TimeSpan.FromSeconds(10));
            return 0;
        });
        await stuck.ContainsAsync(Id(owner, 0)); // orders the one-way HoldsViews before the create below
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var full = await Assert.ThrowsAsync<PlasmaException>(async () => await writer.PutAsync(Id(owner, 100), new byte[Size]));
        Assert.Equal(PlasmaStatus.StoreFull, full.Status);
        Assert.True(sw.Elapsed >= TimeSpan.FromSeconds(1.5), $"took {sw.Elapsed}"); // it waited for the client, boundedly
        stuck.ReleaseUnusedViewsWhenAsked(() => 0); // registering again does not bring it back
        await Task.Delay(200); // (its receive thread is blocked: no round trip on its connection to order this)
        sw.Restart();
        full = await Assert.ThrowsAsync<PlasmaException>(async () => await writer.PutAsync(Id(owner, 101), new byte[Size]));
        Assert.Equal(PlasmaStatus.StoreFull, full.Status);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(1.5), $"took {sw.Elapsed}"); // not asked, not waited for
        release.Set(); // a second Reclaim, had one been sent, would be handled now
        await Task.Delay(300);
        Assert.Equal(1, Volatile.Read(ref asked));
        foreach (var v in views) v.Dispose();
    }
}
