using Ray.Gpu.Collectives;

namespace Ray.Gpu.Tests.Collectives;

/// <summary>Runs one body per rank on the thread pool, with a hard cap so a bug cannot hang the suite.</summary>
internal static class GroupRunner
{
    public static async Task RunAsync(int worldSize, CollectiveGroupOptions? options, Func<Communicator, Task> body)
    {
        using CollectiveGroup group = CollectiveGroup.Create("test-" + Guid.NewGuid().ToString("N"), worldSize, options);
        Task[] ranks = Enumerable.Range(0, worldSize)
            .Select(rank => Task.Run(() => body(group.GetCommunicator(rank))))
            .ToArray();
        await Task.WhenAll(ranks).WaitAsync(TimeSpan.FromSeconds(60));
    }

    public static CollectiveGroupOptions Options(bool forceRing) =>
        forceRing ? new CollectiveGroupOptions { RingThresholdBytes = 0 } : new CollectiveGroupOptions();
}
