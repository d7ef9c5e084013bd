using Ray.Gpu.Collectives;
using Ray.Gpu.Kernels;

namespace Ray.Gpu.Tests.Collectives;

/// <summary>
/// The shared-memory group's rendezvous and failure paths, with ranks on threads of this process
/// (each joins and maps the segment on its own, as a separate process would).
/// </summary>
public sealed class SharedMemoryGroupTests : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("ray-gpu-shm-");

    public void Dispose() => _directory.Delete(recursive: true);

    private CollectiveGroupOptions Options(double timeoutSeconds = 10) =>
        new() { SharedMemoryDirectory = _directory.FullName, Timeout = TimeSpan.FromSeconds(timeoutSeconds) };

    private static string NewName() => $"t-{Guid.NewGuid():N}";

    [Fact]
    public async Task TwoRanksAllReduceAndTheSegmentFileIsRemoved()
    {
        string name = NewName();
        var results = new float[2][];
        await Task.WhenAll(Enumerable.Range(0, 2).Select(rank => Task.Run(async () =>
        {
            using var group = CollectiveGroup.JoinSharedMemory(name, 2, rank, Options());
            Assert.Equal(rank, group.LocalRank);
            Assert.Throws<InvalidOperationException>(() => group.GetCommunicator(1 - rank));
            var data = Enumerable.Range(0, 300_000).Select(i => (float)(i % 5) + rank).ToArray();
            await group.GetCommunicator(rank).AllReduceAsync(data.AsMemory());
            results[rank] = data;
        })));
        for (int i = 0; i < 300_000; i++)
        {
            Assert.Equal((2 * (i % 5)) + 1, results[0][i]);
            Assert.Equal(results[0][i], results[1][i]);
        }

        Assert.Empty(_directory.GetFiles());
    }

    [Fact]
    public async Task DifferentWorldSizesFailTheJoinWithMismatch()
    {
        string name = NewName();
        Task<CollectiveException> creator = Task.Run(() => Assert.Throws<CollectiveException>(() => CollectiveGroup.JoinSharedMemory(name, 2, 0, Options(2))));
        await Task.Delay(100);
        var error = Assert.Throws<CollectiveException>(() => CollectiveGroup.JoinSharedMemory(name, 3, 1, Options(5)));
        Assert.Equal(CollectiveErrorKind.Mismatch, error.Kind);
        Assert.Contains("world size 2", error.Message, StringComparison.Ordinal);
        Assert.Equal(CollectiveErrorKind.Timeout, (await creator).Kind); // rank 1 never joined its group
    }

    [Fact]
    public void JoinWithoutRankZeroTimesOut()
    {
        var error = Assert.Throws<CollectiveException>(() => CollectiveGroup.JoinSharedMemory(NewName(), 2, 1, Options(0.3)));
        Assert.Equal(CollectiveErrorKind.Timeout, error.Kind);
    }

    [Fact]
    public void BadRingSizeIsRejected()
    {
        var options = Options() with { SharedMemoryRingBytes = 100_000 };
        Assert.Throws<ArgumentException>(() => CollectiveGroup.JoinSharedMemory(NewName(), 2, 0, options));
    }

    [Fact]
    public async Task ARankThatLeavesFailsItsWaitingPeerWithGroupClosed()
    {
        string name = NewName();
        var joined = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Task leaver = Task.Run(async () =>
        {
            using var group = CollectiveGroup.JoinSharedMemory(name, 2, 1, Options(30));
            await joined.Task;
        });
        using var mine = CollectiveGroup.JoinSharedMemory(name, 2, 0, Options(30));
        joined.SetResult();
        await leaver;
        var error = await Assert.ThrowsAsync<CollectiveException>(async () => await mine.GetCommunicator(0).BarrierAsync());
        Assert.Equal(CollectiveErrorKind.GroupClosed, error.Kind);
        Assert.Equal(1, error.FailedRank);
    }

    [Fact]
    public async Task AnOperationTimesOutNamingTheRankThatDidNotArrive()
    {
        string name = NewName();
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Task idle = Task.Run(async () =>
        {
            using var group = CollectiveGroup.JoinSharedMemory(name, 2, 1, Options(3));
            await done.Task; // joined, alive, but never calls the operation
        });
        using var mine = CollectiveGroup.JoinSharedMemory(name, 2, 0, Options(3));
        var error = await Assert.ThrowsAsync<CollectiveException>(async () => await mine.GetCommunicator(0).AllReduceAsync(new float[10].AsMemory(), ReduceOp.Sum));
        done.SetResult();
        await idle;
        Assert.Equal(CollectiveErrorKind.Timeout, error.Kind);
        Assert.Equal(1, error.FailedRank);
    }
}
