using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Ray.Plasma;
using Ray.Plasma.Client;
using Ray.Plasma.Server;
using Ray.Plasma.Store;

namespace Ray.Perf;

/// <summary>The shared-memory store's cases: zero-copy gets, socket calls from a second process, spilling.</summary>
public static class PlasmaCases
{
    private const int OneGiB = 1 << 30;

    /// <summary>In-process: put of 1 GiB arrays through Plasma, and zero-copy views of 1 MiB..1 GiB.</summary>
    public static void RunEmbedded(PerfHarness h, RayRuntime rt)
    {
        if (h.Selected("single_client_put_gigabytes_1GiB"))
        {
            var big = new long[OneGiB / sizeof(long)];
            big.AsSpan().Fill(1);
            h.Bandwidth("single_client_put_gigabytes_1GiB", () => rt.Put(big).Dispose(), OneGiB);
        }
        foreach (var (name, bytes) in new[] { ("single_client_get_zero_copy_1MiB", 1 << 20), ("single_client_get_zero_copy_64MiB", 64 << 20),
                     ("single_client_get_gigabytes_zero_copy", OneGiB) })
        {
            if (!h.Selected(name)) continue;
            var r = rt.Put(new byte[bytes]);
            h.Latency(name, () => { using var v = r.GetView(); }, calls: 20_000);
            r.Dispose();
        }
    }

    /// <summary>Socket calls from a second process: this process serves the store, a child measures.</summary>
    public static void RunCrossProcess(PerfHarness h, TimeSpan trial)
    {
        if (!h.Selected("plasma_put_calls") && !h.Selected("plasma_get_calls")) return;
        var dir = Directory.CreateTempSubdirectory("ray-perf-plasma-");
        var socket = Path.Combine("/tmp", $"rp-perf-{Environment.ProcessId}.sock");
        using var store = new PlasmaStore(new PlasmaStoreOptions { CapacityBytes = 1L << 30, Directory = dir.FullName });
        var server = new PlasmaServer(store, socket).Start();
        try
        {
            var self = typeof(PlasmaCases).Assembly.Location;
            var psi = new ProcessStartInfo("dotnet", [self, "--plasma-client", socket, ((int)trial.TotalMilliseconds).ToString(CultureInfo.InvariantCulture)])
            {
                RedirectStandardOutput = true,
                UseShellExecute = false,
            };
            using var child = Process.Start(psi)!;
            try
            {
                var output = child.StandardOutput.ReadToEnd();
                if (!child.WaitForExit(120_000)) throw new TimeoutException("plasma client did not finish");
                foreach (Match m in Regex.Matches(output, @"^RESULT (\S+) (\S+)$", RegexOptions.Multiline))
                    h.Add(m.Groups[1].Value, "embedded", double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture), "per_second");
            }
            finally
            {
                if (!child.HasExited) child.Kill(entireProcessTree: true);
            }
        }
        finally
        {
            server.DisposeAsync().AsTask().GetAwaiter().GetResult();
            dir.Delete(recursive: true);
        }
    }

    /// <summary>The child's side: pipelined 1 KiB puts and gets through the socket.</summary>
    public static async Task<int> ClientMainAsync(string socket, int trialMs)
    {
        await using var client = await PlasmaClient.ConnectAsync(socket);
        var payload = new byte[1024];
        var owner = (ulong)Environment.ProcessId;
        long next = 0;
        const int inFlight = 64;

        async Task<double> Measure(Func<Task> one)
        {
            var stop = Stopwatch.StartNew();
            long count = 0;
            var until = TimeSpan.FromMilliseconds(trialMs);
            var loops = Enumerable.Range(0, inFlight).Select(async _ =>
            {
                while (stop.Elapsed < until)
                {
                    await one();
                    Interlocked.Increment(ref count);
                }
            });
            await Task.WhenAll(loops);
            return count / stop.Elapsed.TotalSeconds;
        }

        var put = () => client.PutAsync(new PlasmaObjectId(owner, (ulong)Interlocked.Increment(ref next)), payload).AsTask();
        await Measure(put); // warm-up
        var puts = new List<double>();
        for (var t = 0; t < 3; t++) puts.Add(await Measure(put));
        var target = new PlasmaObjectId(owner, ulong.MaxValue);
        await client.PutAsync(target, payload);
        var get = async () => { using var v = await client.GetAsync(target, TimeSpan.FromSeconds(5)); };
        await Measure(get);
        var gets = new List<double>();
        for (var t = 0; t < 3; t++) gets.Add(await Measure(get));
        puts.Sort();
        gets.Sort();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"RESULT plasma_put_calls {puts[1]:0}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"RESULT plasma_get_calls {gets[1]:0}"));
        return 0;
    }

    /// <summary>Spill and restore throughput, beside the disk's own direct sequential write speed (dd).</summary>
    public static void RunSpill(PerfHarness h)
    {
        if (!h.Selected("plasma_spill") && !h.Selected("floor_disk")) return;
        var dir = Directory.CreateTempSubdirectory("ray-perf-spill-");
        try
        {
            var dd = DiskWriteGbps(dir.FullName);
            if (!double.IsNaN(dd)) h.Add("floor_disk_write_direct_gbps", "floor", dd, "GB/s");
            const int objectBytes = 64 << 20;
            using var store = new PlasmaStore(new PlasmaStoreOptions
            {
                CapacityBytes = 512L << 20, Directory = "/dev/shm", SpillDirectory = Path.Combine(dir.FullName, "spill"),
            });
            var local = new PlasmaLocalClient(store);
            var data = new byte[objectBytes];
            new Random(1).NextBytes(data);
            var ids = Enumerable.Range(1, 16).Select(i => new PlasmaObjectId(7, (ulong)i)).ToList();
            foreach (var id in ids) local.PutAsync(id, data).AsTask().GetAwaiter().GetResult(); // 1 GiB into 512 MiB: half spills
            foreach (var id in ids) { using var v = local.TryGet(id)!; } // every spilled one comes back (spilling others)
            var s = store.Stats;
            h.Add("plasma_spill_gbps", "embedded", s.SpilledBytes / s.SpillSeconds / 1e9, "GB/s");
            h.Add("plasma_restore_gbps", "embedded", s.RestoredBytes / s.RestoreSeconds / 1e9, "GB/s");
            Console.WriteLine($"    spilled {s.SpillCount} objects ({s.SpilledBytes >> 20} MiB), restored {s.RestoreCount} ({s.RestoredBytes >> 20} MiB)");
        }
        finally { dir.Delete(recursive: true); }
    }

    private static double DiskWriteGbps(string dir)
    {
        try
        {
            var psi = new ProcessStartInfo("dd", ["if=/dev/zero", $"of={Path.Combine(dir, "dd.bin")}", "bs=1M", "count=1024", "oflag=direct"])
            {
                RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false,
            };
            using var p = Process.Start(psi)!;
            var err = p.StandardError.ReadToEnd();
            p.WaitForExit();
            File.Delete(Path.Combine(dir, "dd.bin"));
            var m = Regex.Match(err, @"([\d.,]+) ([GMk]?B)/s");
            if (!m.Success) return double.NaN;
            var v = double.Parse(m.Groups[1].Value.Replace(',', '.'), CultureInfo.InvariantCulture);
            return m.Groups[2].Value switch { "GB" => v, "MB" => v / 1e3, "kB" => v / 1e6, _ => v / 1e9 };
        }
        catch (System.ComponentModel.Win32Exception) { return double.NaN; }
    }
}
