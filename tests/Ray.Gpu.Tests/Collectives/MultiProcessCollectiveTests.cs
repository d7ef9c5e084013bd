using System.Diagnostics;
using Ray.Gpu.Collectives;

namespace Ray.Gpu.Tests.Collectives;

/// <summary>
/// Ranks in separate processes on this node, joined through a shared-memory segment: every
/// operation checked against a reference by each rank, a rank killed with SIGKILL, mismatched sizes.
/// </summary>
public sealed class MultiProcessCollectiveTests
{
    private static readonly TimeSpan ExitTimeout = TimeSpan.FromSeconds(60);

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public async Task EveryOperationMatchesTheReference(int worldSize)
    {
        // Each rank runs every operation x {float, long} x {1, 7, 1000003} twice (direct and forced ring).
        using var ranks = new RankProcesses("matrix", worldSize);
        for (int rank = 0; rank < worldSize; rank++)
        {
            (int exitCode, string output) = await ranks.WaitAsync(rank, ExitTimeout);
            Assert.True(exitCode == 0, $"rank {rank} exited {exitCode}:\n{output}");
            Assert.Contains("OK", output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task KilledRankFailsEveryOtherRankWithRankDied()
    {
        // A 60 s group timeout proves the failure comes from noticing the dead process, not from waiting it out.
        using var ranks = new RankProcesses("loop", 3, timeoutSeconds: 60);
        await ranks.WaitForLineAsync(2, "READY", ExitTimeout);
        await Task.Delay(200); // let the ranks run all-reduces for a while
        var clock = Stopwatch.StartNew();
        ranks[2].Kill(); // SIGKILL
        for (int rank = 0; rank < 2; rank++)
        {
            (int exitCode, string output) = await ranks.WaitAsync(rank, TimeSpan.FromSeconds(20));
            Assert.True(exitCode == 0, $"rank {rank} exited {exitCode}:\n{output}");
            Assert.Contains("CAUGHT RankDied 2", output, StringComparison.Ordinal);
        }

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"survivors took {clock.Elapsed} to fail");
    }

    [Fact]
    public async Task MismatchedSizesFailBothRanksWithMismatch()
    {
        // Rank 1 passes 1001 elements, rank 0 1000: whichever reads the other's header first blames it,
        // and both ranks report that same first failure.
        using var ranks = new RankProcesses("mismatch", 2, timeoutSeconds: 60);
        var caught = new string[2];
        for (int rank = 0; rank < 2; rank++)
        {
            (int exitCode, string output) = await ranks.WaitAsync(rank, ExitTimeout);
            Assert.True(exitCode == 0, $"rank {rank} exited {exitCode}:\n{output}");
            caught[rank] = output.Split('\n').Single(line => line.StartsWith("CAUGHT ", StringComparison.Ordinal));
            Assert.Matches("expected 100[01] x Single from rank [01], got 100[01] x Single", output);
        }

        Assert.Contains(caught[0], new[] { "CAUGHT Mismatch 0", "CAUGHT Mismatch 1" });
        Assert.Equal(caught[0], caught[1]);
    }
}
