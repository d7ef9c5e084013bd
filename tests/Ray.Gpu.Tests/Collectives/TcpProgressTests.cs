using System.Diagnostics;
using Ray.Gpu.Collectives;
using Ray.Gpu.TestRank;

namespace Ray.Gpu.Tests.Collectives;

/// <summary>
/// The TCP transport's progress engine: waits that never spin (every receive goes through the
/// progress thread), two ranks that both send more than the sockets buffer before either receives
/// (a blocked send must keep reading), messages that arrive while no operation runs, and a failure
/// noticed while a rank is idle.
/// </summary>
public sealed class TcpProgressTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task WithoutSpinningEveryOperationMatchesTheReference()
    {
        CollectiveGroup[] groups = await TcpRanks.JoinAllAsync(3, new CollectiveGroupOptions { TcpSpin = TimeSpan.Zero, TcpMaxFrameBytes = 64 * 1024 });
        try
        {
            int[] failures = await Task.WhenAll(groups.Select((g, r) => Task.Run(() => Matrix.RunAsync(g.GetCommunicator(r)))))
                .WaitAsync(Limit);
            Assert.All(failures, f => Assert.Equal(0, f));
        }
        finally
        {
            Dispose(groups);
        }
    }

    [Fact]
    public async Task BothRanksSendingMoreThanTheSocketsHoldBeforeReceivingDoNotDeadlock()
    {
        // 48 MiB each way: far beyond the 4 MiB socket buffers, so each send blocks until the other
        // rank reads, while that rank is itself blocked sending; the blocked send must pump receives.
        const int count = 12 << 20;
        CollectiveGroup[] groups = await TcpRanks.JoinAllAsync(2, new CollectiveGroupOptions { Timeout = TimeSpan.FromSeconds(30) });
        try
        {
            var received = new float[2][];
            await Task.WhenAll(Enumerable.Range(0, 2).Select(r => Task.Factory.StartNew(
                async () =>
                {
                    Communicator c = groups[r].GetCommunicator(r);
                    float[] data = Enumerable.Repeat((float)(r + 1), count).ToArray();
                    await c.SendAsync<float>(data, 1 - r);
                    received[r] = new float[count];
                    await c.RecvAsync<float>(received[r], 1 - r);
                },
                CancellationToken.None,
                TaskCreationOptions.LongRunning,
                TaskScheduler.Default).Unwrap())).WaitAsync(Limit);
            Assert.All(received[0], v => Assert.Equal(2f, v));
            Assert.All(received[1], v => Assert.Equal(1f, v));
        }
        finally
        {
            Dispose(groups);
        }
    }

    [Fact]
    public async Task MessagesArrivingBetweenOperationsAndAnIdleFailureAreSeen()
    {
        CollectiveGroup[] groups = await TcpRanks.JoinAllAsync(2);
        try
        {
            // Rank 1 sends while rank 0 runs no operation: the progress thread queues it.
            await groups[1].GetCommunicator(1).SendAsync<int>(new[] { 7, 8, 9 }, 0);
            await Task.Delay(100);
            var got = new int[3];
            await groups[0].GetCommunicator(0).RecvAsync<int>(got, 1).AsTask().WaitAsync(Limit);
            Assert.Equal(new[] { 7, 8, 9 }, got);

            // A failure on rank 1 reaches idle rank 0 without any operation there.
            groups[1].GetCommunicator(1).Abort("test");
            var clock = Stopwatch.StartNew();
            while (!groups[0].IsFailed && clock.Elapsed < TimeSpan.FromSeconds(10))
            {
                await Task.Delay(5);
            }

            var e = await Assert.ThrowsAsync<CollectiveException>(() => groups[0].GetCommunicator(0).BarrierAsync().AsTask());
            Assert.Equal(CollectiveErrorKind.RankAborted, e.Kind);
            Assert.Equal(1, e.FailedRank);
        }
        finally
        {
            Dispose(groups);
        }
    }

    private static void Dispose(CollectiveGroup[] groups)
    {
        foreach (CollectiveGroup g in groups)
        {
            g.Dispose();
        }
    }
}
