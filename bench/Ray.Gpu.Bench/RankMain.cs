using System.Diagnostics;
using System.Globalization;
using Ray.Gpu.Collectives;
using Ray.Gpu.Kernels;

namespace Ray.Gpu.Bench;

/// <summary>
/// One rank of the all-reduce benchmark (a process of its own). Float sum, out of place, as
/// nccl-tests and the MPI peer do. Per size: warm up, agree on an iteration count (rank 0 decides,
/// so each size runs ~0.25 s), time the loop; time = max over ranks of the mean; rank 0 prints
/// RESULT lines. Perf mode adds the 1 KiB latency distribution (per-call times on rank 0).
/// </summary>
internal static class RankMain
{
    public static async Task<int> RunAsync(string mode, string directory, string group, int world, int rank, long maxBytes, string? rankZero)
    {
        var options = new CollectiveGroupOptions { SharedMemoryDirectory = directory, Timeout = TimeSpan.FromSeconds(120) };
        if (mode.StartsWith("tcp-", StringComparison.Ordinal))
        {
            mode = mode[4..];
            options = options with
            {
                Transport = CollectiveTransport.Tcp,
                TcpRendezvous = Ray.Gpu.Collectives.Tcp.TcpRendezvous.FromRankZero(System.Net.IPEndPoint.Parse(rankZero!), "bench"),
            };
        }

        using CollectiveGroup g = CollectiveGroup.Join(group, world, rank, options);
        Communicator c = g.GetCommunicator(rank);
        var send = new float[maxBytes / sizeof(float)];
        var receive = new float[send.Length];
        Array.Fill(send, rank + 1);
        Array.Fill(receive, 0f);
        if (mode == "perf")
        {
            await SweepAsync(c, send, receive, [1 << 20], trials: 5);
            await LatencyAsync(c, send, receive, 256, 20_000);
        }
        else
        {
            var sizes = new List<long>();
            for (long bytes = 1024; bytes <= maxBytes; bytes *= 4)
            {
                sizes.Add(bytes);
            }

            await WarmUpAsync(c, send, receive);
            await SweepAsync(c, send, receive, sizes, trials: 1);
        }

        return 0;
    }

    /// <summary>
    /// Runs 1 KiB all-reduces for at least half a second (rank 0 decides when, so every rank makes
    /// the same calls): the tiered JIT promotes hot methods only after a delay of ~100 ms without new
    /// compilations, so a count-based warm-up of a few milliseconds would time tier-0 code in the first rows.
    /// </summary>
    private static async Task WarmUpAsync(Communicator c, float[] send, float[] receive)
    {
        var go = new long[1];
        var clock = Stopwatch.StartNew();
        do
        {
            for (int i = 0; i < 200; i++)
            {
                await c.AllReduceAsync<float>(send.AsMemory(0, 256), receive.AsMemory(0, 256));
            }

            go[0] = clock.Elapsed.TotalSeconds < 0.5 ? 1 : 0;
            await c.BroadcastAsync<long>(go, 0);
        }
        while (go[0] == 1);
    }

    private static async Task SweepAsync(Communicator c, float[] send, float[] receive, IReadOnlyList<long> sizes, int trials)
    {
        var agree = new long[1];
        var times = new double[1];
        float expected = c.WorldSize * (c.WorldSize + 1) / 2f;
        foreach (long bytes in sizes)
        {
            int count = (int)(bytes / sizeof(float));
            Memory<float> input = send.AsMemory(0, count), output = receive.AsMemory(0, count);
            // Every rank must make the same calls: a fixed warm-up count, then rank 0's iteration count.
            int warmCalls = (int)Math.Clamp((64L << 20) / bytes, 3, 500);
            for (int i = 0; i < warmCalls; i++)
            {
                await c.AllReduceAsync<float>(input, output); // JIT, page faults, caches
            }

            var warm = Stopwatch.StartNew();
            for (int i = 0; i < warmCalls; i++)
            {
                await c.AllReduceAsync<float>(input, output); // timed: sizes the measured loop
            }

            agree[0] = Math.Clamp((long)(0.25 / (warm.Elapsed.TotalSeconds / warmCalls)), 5, 50_000);
            await c.BroadcastAsync<long>(agree, 0);
            var samples = new double[trials];
            for (int t = 0; t < trials; t++)
            {
                await c.BarrierAsync();
                long t0 = Stopwatch.GetTimestamp();
                for (long i = 0; i < agree[0]; i++)
                {
                    await c.AllReduceAsync<float>(input, output);
                }

                times[0] = Stopwatch.GetElapsedTime(t0).TotalSeconds / agree[0];
                await c.AllReduceAsync<double>(times.AsMemory(), ReduceOp.Max);
                samples[t] = times[0];
            }

            if (output.Span[count - 1] != expected || output.Span[0] != expected)
            {
                throw new InvalidOperationException($"wrong result {output.Span[count - 1]} != {expected} at {bytes} bytes");
            }

            Array.Sort(samples);
            double time = samples[trials / 2];
            double algbw = bytes / time / 1e9;
            if (c.Rank == 0)
            {
                Console.WriteLine(string.Create(
                    CultureInfo.InvariantCulture,
                    $"RESULT test=allreduce ranks={c.WorldSize} size_bytes={bytes} iters={agree[0]} time_us={time * 1e6:0.00} algbw_GBps={algbw:0.000} busbw_GBps={algbw * 2 * (c.WorldSize - 1) / c.WorldSize:0.000}"));
            }
        }
    }

    private static async Task LatencyAsync(Communicator c, float[] send, float[] receive, int count, int calls)
    {
        Memory<float> input = send.AsMemory(0, count), output = receive.AsMemory(0, count);
        for (int i = 0; i < calls / 4; i++)
        {
            await c.AllReduceAsync<float>(input, output);
        }

        await c.BarrierAsync();
        var samples = new double[calls];
        for (int i = 0; i < calls; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            await c.AllReduceAsync<float>(input, output);
            samples[i] = Stopwatch.GetElapsedTime(t0).TotalMicroseconds;
        }

        Array.Sort(samples);
        if (c.Rank == 0)
        {
            Console.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"LATENCY ranks={c.WorldSize} size_bytes={count * sizeof(float)} p10_us={samples[calls / 10]:0.00} p50_us={samples[calls / 2]:0.00} p90_us={samples[calls * 9 / 10]:0.00} p99_us={samples[calls * 99 / 100]:0.00}"));
        }
    }
}
