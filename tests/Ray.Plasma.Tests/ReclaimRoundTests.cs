using Ray.Plasma.Client;
using Ray.Plasma.Server;
using static Ray.Plasma.Tests.TestUtil;

namespace Ray.Plasma.Tests;

/// <summary>
/// How the store runs its Reclaim rounds: one round shared by every waiter, a client that
/// answers late asked again, the client's word on what it freed not believed, and requests
/// waiting for a round counted under the per-client limit. A 1 MiB arena holds five 200 000-byte objects.
/// </summary>
public class ReclaimRoundTests
{
    private const long Capacity = 1 << 20;
    private const int Size = 200_000;
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(5);

    /// <summary>Fills the store with five objects, each held by a view of <paramref name="holder"/>.</summary>
    private static async Task<List<PlasmaBuffer>> FillAsync(PlasmaClient writer, PlasmaClient holder, ulong owner)
    {
        var views = new List<PlasmaBuffer>();
        for (var i = 0; i < 5; i++)
        {
            await writer.PutAsync(Id(owner, (ulong)i), new byte[Size]);
            views.Add(await holder.GetAsync(Id(owner, (ulong)i), Wait));
        }
        return views;
    }

    [Fact]
    public async Task A_client_that_answers_a_reclaim_late_is_asked_again_next_time()
    {
        await using var s = ServerScope.Start(Capacity);
        await using var writer = await PlasmaClient.ConnectAsync(s.SocketPath);
        await using var keeper = await PlasmaClient.ConnectAsync(s.SocketPath);
        var owner = NewOwner();
        var views = await FillAsync(writer, keeper, owner);
        var asked = 0;
        using var stall = new ManualResetEventSlim(); // held until the store has given up on this round
        keeper.ReleaseUnusedViewsWhenAsked(() =>
        {
            if (Interlocked.Increment(ref asked) == 1)
            {
                stall.Wait(TimeSpan.FromSeconds(30)); // a stall: answers late (after the test looked)
                return 0;
            }
            long freed = 0;
            foreach (var v in views.Where(v => !v.IsReleased)) { freed += v.Length; v.Dispose(); }
            return freed;
        });
        await keeper.ContainsAsync(Id(owner, 0)); // orders the one-way HoldsViews before the create below

        var full = await Assert.ThrowsAsync<PlasmaException>(async () => await writer.PutAsync(Id(owner, 100), new byte[Size]));
        Assert.Equal(PlasmaStatus.StoreFull, full.Status);
        Assert.False(s.Server.CanReclaim); // it missed the round
        stall.Set();

        // Its late answer shows it alive: it is asked again, and this time releases its views.
        var deadline = DateTime.UtcNow + Wait;
        while (!s.Server.CanReclaim && DateTime.UtcNow < deadline) await Task.Delay(20);
        Assert.True(s.Server.CanReclaim, "the late answer did not bring the client back");
        await writer.PutAsync(Id(owner, 101), new byte[Size]);
        Assert.Equal(2, Volatile.Read(ref asked));
    }

    [Fact]
    public async Task Many_requests_that_find_the_store_full_share_one_reclaim_round()
    {
        await using var s = ServerScope.Start(Capacity);
        await using var writer = await PlasmaClient.ConnectAsync(s.SocketPath);
        await using var keeper = await PlasmaClient.ConnectAsync(s.SocketPath);
        var owner = NewOwner();
        var views = await FillAsync(writer, keeper, owner);
        var asked = 0;
        keeper.ReleaseUnusedViewsWhenAsked(() => { Interlocked.Increment(ref asked); Thread.Sleep(300); return 0; });
        await keeper.ContainsAsync(Id(owner, 0));

        var puts = Enumerable.Range(0, 20).Select(i => writer.PutAsync(Id(owner, 100 + (ulong)i), new byte[Size]).AsTask()).ToArray();
        foreach (var put in puts)
        {
            var full = await Assert.ThrowsAsync<PlasmaException>(() => put);
            Assert.Equal(PlasmaStatus.StoreFull, full.Status);
        }
        Assert.True(Volatile.Read(ref asked) <= 3, $"asked {asked} times for 20 creates"); // one round each, not one per create
        foreach (var v in views) v.Dispose();
    }

    [Fact]
    public async Task What_a_client_says_it_freed_is_not_believed_the_store_counts_itself()
    {
        await using var s = ServerScope.Start(Capacity);
        await using var writer = await PlasmaClient.ConnectAsync(s.SocketPath);
        await using var liar = await PlasmaClient.ConnectAsync(s.SocketPath);
        var owner = NewOwner();
        var views = await FillAsync(writer, liar, owner);
        var asked = 0;
        liar.ReleaseUnusedViewsWhenAsked(() => { Interlocked.Increment(ref asked); return long.MaxValue; }); // releases nothing
        await liar.ContainsAsync(Id(owner, 0));

        var full = await Assert.ThrowsAsync<PlasmaException>(async () => await writer.PutAsync(Id(owner, 100), new byte[Size]));
        Assert.Equal(PlasmaStatus.StoreFull, full.Status);
        Assert.Equal(1, Volatile.Read(ref asked)); // nothing became reclaimable: no second round
        foreach (var v in views) v.Dispose();
    }

    [Fact]
    public async Task Creates_waiting_for_a_reclaim_count_against_the_clients_waiting_limit()
    {
        await using var s = ServerScope.Start(Capacity, new PlasmaServerOptions { MaxWaitingGetsPerClient = 2 });
        await using var writer = await PlasmaClient.ConnectAsync(s.SocketPath);
        await using var keeper = await PlasmaClient.ConnectAsync(s.SocketPath);
        var owner = NewOwner();
        var views = await FillAsync(writer, keeper, owner);
        keeper.ReleaseUnusedViewsWhenAsked(() => { Thread.Sleep(500); return 0; });
        await keeper.ContainsAsync(Id(owner, 0));

        var puts = Enumerable.Range(0, 6).Select(i => writer.PutAsync(Id(owner, 100 + (ulong)i), new byte[Size]).AsTask()).ToArray();
        var statuses = new List<PlasmaStatus>();
        foreach (var put in puts) statuses.Add((await Assert.ThrowsAsync<PlasmaException>(() => put)).Status);
        Assert.Equal(2, statuses.Count(st => st == PlasmaStatus.StoreFull)); // the two that waited
        Assert.Equal(4, statuses.Count(st => st == PlasmaStatus.InvalidRequest)); // refused at once: over the limit
        foreach (var v in views) v.Dispose();
    }
}
