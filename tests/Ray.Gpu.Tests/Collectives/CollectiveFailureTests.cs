using System.Diagnostics;
using Ray.Gpu.Collectives;
using Ray.Gpu.Kernels;

namespace Ray.Gpu.Tests.Collectives;

/// <summary>A rank that dies or never arrives fails the operation on every other rank, quickly.</summary>
public sealed class CollectiveFailureTests
{
    [Theory]
    [InlineData(7)]
    [InlineData(1_000_003)]
    public async Task AbortedRankFailsEveryOtherRank(int size)
    {
        // A long timeout proves the failure comes from the abort, not from waiting it out.
        var options = new CollectiveGroupOptions { Timeout = TimeSpan.FromSeconds(30) };
        var errors = new CollectiveException?[3];
        var clock = Stopwatch.StartNew();
        await GroupRunner.RunAsync(3, options, async comm =>
        {
            if (comm.Rank == 2)
            {
                await Task.Delay(100);
                comm.Abort("simulated crash");
                return;
            }

            var data = new float[size];
            errors[comm.Rank] = await Assert.ThrowsAsync<CollectiveException>(
                async () => await comm.AllReduceAsync<float>(data, data, ReduceOp.Sum));

            // The group stays poisoned: later operations fail at once.
            await Assert.ThrowsAsync<CollectiveException>(async () => await comm.BarrierAsync());
        });
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
        for (int rank = 0; rank < 2; rank++)
        {
            Assert.Equal(CollectiveErrorKind.RankAborted, errors[rank]!.Kind);
            Assert.Equal(2, errors[rank]!.FailedRank);
            Assert.Equal(rank, errors[rank]!.Rank);
            Assert.Contains("simulated crash", errors[rank]!.Message);
        }
    }

    [Fact]
    public async Task RankThatNeverArrivesTimesOutOnEveryRank()
    {
        var options = new CollectiveGroupOptions { Timeout = TimeSpan.FromSeconds(2) }; // long enough that a loaded CI machine starts every other rank first
        var errors = new CollectiveException?[4];
        var clock = Stopwatch.StartNew();
        await GroupRunner.RunAsync(4, options, async comm =>
        {
            if (comm.Rank == 3)
            {
                return; // never arrives
            }

            var data = new long[1_000_003];
            errors[comm.Rank] = await Assert.ThrowsAsync<CollectiveException>(
                async () => await comm.AllReduceAsync<long>(data, data, ReduceOp.Sum));
        });
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
        for (int rank = 0; rank < 3; rank++)
        {
            Assert.Equal(CollectiveErrorKind.Timeout, errors[rank]!.Kind);
            Assert.Equal(3, errors[rank]!.FailedRank);
        }
    }

    [Fact]
    public async Task RecvFromSilentPeerTimesOut()
    {
        var options = new CollectiveGroupOptions { Timeout = TimeSpan.FromSeconds(1) };
        await GroupRunner.RunAsync(2, options, async comm =>
        {
            if (comm.Rank == 0)
            {
                var error = await Assert.ThrowsAsync<CollectiveException>(
                    async () => await comm.RecvAsync<int>(new int[3], 1));
                Assert.Equal(CollectiveErrorKind.Timeout, error.Kind);
            }
        });
    }

    [Fact]
    public async Task DifferentOperationsOnRanksAreAMismatch()
    {
        var kinds = new CollectiveErrorKind[2];
        await GroupRunner.RunAsync(2, new CollectiveGroupOptions { Timeout = TimeSpan.FromSeconds(5) }, async comm =>
        {
            var data = new int[7];
            var error = await Assert.ThrowsAsync<CollectiveException>(async () =>
            {
                if (comm.Rank == 0)
                {
                    await comm.AllReduceAsync<int>(data, data);
                }
                else
                {
                    await comm.BroadcastAsync<int>(data, 1);
                    await comm.BarrierAsync();
                }
            });
            kinds[comm.Rank] = error.Kind;
        });
        Assert.All(kinds, k => Assert.Equal(CollectiveErrorKind.Mismatch, k));
    }

    [Fact]
    public async Task DisposingTheGroupFailsPendingOperations()
    {
        CollectiveGroup group = CollectiveGroup.Create("closing-" + Guid.NewGuid().ToString("N"), 2);
        Communicator comm = group.GetCommunicator(0);
        Task pending = comm.BarrierAsync().AsTask();
        await Task.Delay(50);
        group.Dispose();
        var error = await Assert.ThrowsAsync<CollectiveException>(() => pending.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(CollectiveErrorKind.GroupClosed, error.Kind);
        Assert.False(CollectiveGroup.TryGet(group.Name, out _));
    }

    [Fact]
    public void GroupNamesAreUnique()
    {
        string name = "unique-" + Guid.NewGuid().ToString("N");
        using CollectiveGroup group = CollectiveGroup.Create(name, 2);
        Assert.True(CollectiveGroup.TryGet(name, out CollectiveGroup? found));
        Assert.Same(group, found);
        Assert.Same(group.GetCommunicator(1), group.GetCommunicator(1));
        Assert.Throws<InvalidOperationException>(() => CollectiveGroup.Create(name, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => group.GetCommunicator(2));
    }
}
