using System.Diagnostics;
using System.Globalization;

namespace Ray.Perf;

/// <summary>
/// Cluster mode: the same cases as the embedded run, with the driver connected to a raylet on
/// this machine (<c>RayRuntime.Connect(sessionDir)</c>), so every task and actor call goes driver ->
/// leased worker process over a Unix socket. Results carry mode "cluster" in perf.json; the
/// transport floors (<see cref="PingPongFloor"/>) are measured first, in the same run.
/// </summary>
public static class ClusterCases
{
    public static async Task RunAsync(PerfHarness h, PerfHarness floors, string rayDll)
    {
        PingPongFloor.Run(floors);

        var cpus = Environment.ProcessorCount;
        // Room for the 800 MiB puts of single_client_put_gigabytes.
        const long storeBytes = 2L << 30;
        var sw = Stopwatch.StartNew();
        await using var cluster = await PerfCluster.StartAsync(rayDll, cpus, storeBytes);
        Console.WriteLine($"cluster: raylet pid {cluster.RayletPid}, session {cluster.SessionDir}, {cpus} CPUs, started in {sw.Elapsed.TotalSeconds:0.0} s");
        // RAY_PERF_GET_SPIN_US: how long the driver's Get spins before parking (RuntimeOptions.SpinBeforePark,
        // default 50 us), for experiments beside RAY_SPIN_US (the sockets' receive threads, driver and workers).
        var options = int.TryParse(Environment.GetEnvironmentVariable("RAY_PERF_GET_SPIN_US"), out var getSpinUs) && getSpinUs >= 0
            ? new RuntimeOptions { SpinBeforePark = TimeSpan.FromMicroseconds(getSpinUs) }
            : null;
        await using (var rt = RayRuntime.Connect(cluster.SessionDir, options))
        {
            // The first task waits for a lease and a worker process; keep that out of the figures.
            sw.Restart();
            rt.Task(PerfFns.SmallValue).Remote().Get(TimeSpan.FromSeconds(60));
            Console.WriteLine($"cluster: first task returned in {sw.Elapsed.TotalMilliseconds:0} ms");
            // A lost message must not hang make perf: a result later than this fails the case as stalled.
            PerfWait.StallTimeout = TimeSpan.FromSeconds(5);
            try
            {
                ObjectPathCases.PutGet1MiB(h, rt, "connected_put_get_1MiB_per_s");
                RayCases.Run(h, rt);
                StreamingCases.Run(h, rt);
                DataCases.RunCluster(floors, h, rt);
            }
            finally { PerfWait.StallTimeout = null; }
            Console.WriteLine($"cluster: {cluster.WorkerPids().Count} worker processes at the end");
        }
    }

    /// <summary>Prints the issue's targets for cluster mode beside the figures of this run.</summary>
    public static void PrintTargets(PerfHarness h, PerfHarness floors)
    {
        var floor = floors.Value("floor_loopback_rtt_us");
        var sync = h.Value("single_client_tasks_sync_latency");
        string Fmt(double v) => double.IsNaN(v) ? "n/a" : v.ToString("N0", CultureInfo.InvariantCulture);
        Console.WriteLine("cluster targets (2-core machine):");
        if (!double.IsNaN(floor) && !double.IsNaN(sync))
        {
            var ratio = sync / floor;
            h.AddQuiet(new PerfResult("single_client_tasks_sync_latency_over_floor_loopback_rtt", "cluster", ratio, "ratio"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  single_client_tasks_sync p50 {sync:0.0} us / floor_loopback_rtt_us p50 {floor:0.0} us = {ratio:0.00}  (target <= 2: {(ratio <= 2 ? "met" : "MISSED")})"));
        }
        foreach (var (name, target) in new[] { ("single_client_tasks_async", 300_000.0), ("1_1_actor_calls_async", 500_000.0), ("1_1_actor_calls_sync", 20_000.0) })
        {
            var v = h.Value(name);
            if (double.IsNaN(v)) continue;
            Console.WriteLine($"  {name} {Fmt(v)}/s  (target >= {Fmt(target)}/s: {(v >= target ? "met" : "MISSED")})");
        }
    }
}
