using System.Globalization;

namespace Ray.Gpu.Bench;

/// <summary>The make-perf figures and table formatting.</summary>
internal static class Perf
{
    /// <summary>
    /// Prints <c>RESULT name value</c> lines: allreduce_busbw_1MiB_2ranks (GB/s, median of 5 trials),
    /// allreduce_latency_1KiB_2ranks (us, median per call), floor_memcpy_1MiB_gbps, and MPI's figures
    /// as floor_mpi_* when mpirun is installed.
    /// </summary>
    public static int Run(string mpiPeer)
    {
        Console.WriteLine(R("floor_memcpy_1MiB_gbps", Memcpy(1 << 20)));
        List<string> lines = Launcher.RunRanks("perf", 2, 1 << 20);
        foreach (string line in lines)
        {
            Console.WriteLine("# " + line);
            if (line.StartsWith("RESULT", StringComparison.Ordinal) && Launcher.Field(line, "size_bytes") == 1 << 20)
            {
                Console.WriteLine(R("allreduce_busbw_1MiB_2ranks", Launcher.Field(line, "busbw_GBps")));
            }

            if (line.StartsWith("LATENCY", StringComparison.Ordinal))
            {
                Console.WriteLine(R("allreduce_latency_1KiB_2ranks", Launcher.Field(line, "p50_us")));
            }
        }

        List<string>? mpi = Launcher.RunMpi(mpiPeer, 2);
        foreach (string line in mpi ?? [])
        {
            Console.WriteLine("# " + line);
            double size = Launcher.Field(line, "size_bytes");
            if (size == 1 << 20)
            {
                Console.WriteLine(R("floor_mpi_allreduce_busbw_1MiB_2ranks", Launcher.Field(line, "busbw_GBps")));
            }
            else if (size == 1024)
            {
                Console.WriteLine(R("floor_mpi_allreduce_latency_1KiB_2ranks", Launcher.Field(line, "time_us")));
            }
        }

        if (mpi is null)
        {
            Console.WriteLine("# MPI peer: mpirun not installed, floor_mpi_* skipped");
        }

        return 0;
    }

    /// <summary>Warm single-thread copy bandwidth (bytes copied per second), median of 5 runs of ~0.1 s.</summary>
    public static unsafe double Memcpy(long bytes)
    {
        byte[] a = GC.AllocateUninitializedArray<byte>((int)bytes, pinned: true), b = GC.AllocateUninitializedArray<byte>((int)bytes, pinned: true);
        Array.Fill(a, (byte)1);
        Array.Fill(b, (byte)2);
        var rates = new double[5];
        fixed (byte* pa = a, pb = b)
        {
            for (int t = 0; t < rates.Length; t++)
            {
                var sw = System.Diagnostics.Stopwatch.StartNew();
                long n = 0;
                while (n < 2 || sw.Elapsed.TotalSeconds < 0.1)
                {
                    Buffer.MemoryCopy(pa, pb, bytes, bytes);
                    n++;
                }

                rates[t] = n * bytes / sw.Elapsed.TotalSeconds / 1e9;
            }
        }

        Array.Sort(rates);
        return rates[2];
    }

    /// <summary>
    /// The issue's targets for the TCP transport against Open MPI over TCP in the same run: busbw at
    /// 1 MiB (goal >= 1.0 x MPI) and the mean time of a 1 KiB all-reduce (goal <= 2 x MPI).
    /// </summary>
    public static string TcpVersusMpi(int world, IReadOnlyList<string> ours, IReadOnlyList<string> mpi)
    {
        double At(IReadOnlyList<string> lines, long size, string field) =>
            lines.Where(l => l.StartsWith("RESULT", StringComparison.Ordinal) && Launcher.Field(l, "size_bytes") == size)
                .Select(l => Launcher.Field(l, field)).DefaultIfEmpty(double.NaN).First();
        double bw = At(ours, 1 << 20, "busbw_GBps"), mpiBw = At(mpi, 1 << 20, "busbw_GBps");
        double lat = At(ours, 1024, "time_us"), mpiLat = At(mpi, 1024, "time_us");
        return string.Create(
            CultureInfo.InvariantCulture,
            $"RATIO tcp_vs_mpi_tcp ranks={world} busbw_1MiB={bw:0.000}/{mpiBw:0.000} GB/s = {bw / mpiBw:0.00} x (goal >= 1.0) latency_1KiB={lat:0.00}/{mpiLat:0.00} us = {lat / mpiLat:0.00} x (goal <= 2.0)");
    }

    /// <summary>A RESULT line as an nccl-tests table row.</summary>
    public static string Row(string line)
    {
        if (!line.StartsWith("RESULT", StringComparison.Ordinal))
        {
            return "# " + line;
        }

        double size = Launcher.Field(line, "size_bytes");
        return string.Create(
            CultureInfo.InvariantCulture,
            $"{size,14:0} {size / 4,10:0}  float {Launcher.Field(line, "time_us"),10:0.00} {Launcher.Field(line, "algbw_GBps"),12:0.000} {Launcher.Field(line, "busbw_GBps"),12:0.000}");
    }

    private static string R(string name, double value) => string.Create(CultureInfo.InvariantCulture, $"RESULT {name} {value:0.000}");
}
