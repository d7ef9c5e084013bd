using Ray;
using Ray.Perf;

// make perf: Ray's microbenchmark cases on an embedded runtime and on a local cluster (driver ->
// raylet -> worker processes), beside this machine's floors.
// Usage: Ray.Perf [--mode embedded|cluster|all] [--out PATH] [--filter SUBSTRING[|SUBSTRING...]] [--trial-ms N] [--trials N] [--ray-dll PATH]
if (args.Length >= 3 && args[0] == "--plasma-client") return await PlasmaCases.ClientMainAsync(args[1], int.Parse(args[2]));
if (args.Length >= 2 && args[0] == "--pingpong-server") return PingPongFloor.ServerMain(args[1]);

var outPath = "bench/results/perf.json";
string? filter = null;
var trialMs = 1000;
var trials = 3;
var mode = "all";
string? rayDll = null;
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--out": outPath = args[++i]; break;
        case "--filter": filter = args[++i]; break;
        case "--trial-ms": trialMs = int.Parse(args[++i]); break;
        case "--trials": trials = int.Parse(args[++i]); break;
        case "--mode": mode = args[++i]; break;
        case "--ray-dll": rayDll = args[++i]; break;
        default: Console.Error.WriteLine($"unknown argument {args[i]}"); return 2;
    }
}
if (mode is not ("embedded" or "cluster" or "all")) { Console.Error.WriteLine($"unknown mode {mode}: embedded, cluster or all"); return 2; }
var embedded = mode is "embedded" or "all";
var clustered = mode is "cluster" or "all";

Console.WriteLine($"ray perf: {Environment.ProcessorCount} cores, .NET {Environment.Version}, {trials} trials x {trialMs} ms, median");
var floors = new PerfHarness("floor", TimeSpan.FromMilliseconds(trialMs), trials, filter);
Floors.Run(floors);

var h = new PerfHarness("embedded", TimeSpan.FromMilliseconds(trialMs), trials, filter);
if (embedded)
{
    // A 3 GiB shared-memory store, faulted in at start: room for the 1 GiB puts and views.
    await using (var rt = RayRuntime.Start(new RuntimeOptions { ObjectStoreMemoryBytes = 3L << 30, ObjectStorePrefault = Ray.Plasma.Store.PrefaultMode.Eager }))
    {
        RayCases.Run(h, rt);
        ObjectPathCases.PutGet1MiB(h, rt, "embedded_put_get_1MiB_per_s");
        PlasmaCases.RunEmbedded(h, rt);
        StreamingCases.Run(h, rt);
        DataCases.Run(floors, h, rt);
    }
    PlasmaCases.RunCrossProcess(h, TimeSpan.FromMilliseconds(trialMs));
    PlasmaCases.RunSpill(h);
    CollectiveCases.Run(h);
    await ServeCases.RunAsync(h, TimeSpan.FromMilliseconds(trialMs));
}

var c = new PerfHarness("cluster", TimeSpan.FromMilliseconds(trialMs), trials, filter);
if (clustered)
{
    // The raylet and its workers are stopped on the way out, also on failure, Ctrl-C or a hang.
    // (SIGTERM from `timeout` does not reliably reach ProcessExit while the main thread is stuck in a Get.)
    var signals = new[] { System.Runtime.InteropServices.PosixSignal.SIGINT, System.Runtime.InteropServices.PosixSignal.SIGTERM,
            System.Runtime.InteropServices.PosixSignal.SIGHUP, System.Runtime.InteropServices.PosixSignal.SIGQUIT }
        .Select(sig => System.Runtime.InteropServices.PosixSignalRegistration.Create(sig, _ => PerfCluster.StopAll())).ToList();
    AppDomain.CurrentDomain.ProcessExit += (_, _) => PerfCluster.StopAll();
    using var watchdog = new Timer(_ =>
    {
        Console.Error.WriteLine("cluster cases did not finish within 3 minutes: stopping the raylet and its workers");
        PerfCluster.StopAll();
        Environment.Exit(3);
    }, null, TimeSpan.FromMinutes(3), Timeout.InfiniteTimeSpan);
    await ClusterCases.RunAsync(c, floors, PerfCluster.RayDll(rayDll));
    ClusterCases.PrintTargets(c, floors);
    GC.KeepAlive(signals);
}

var all = new PerfHarness("all", TimeSpan.Zero, 1, null);
foreach (var r in floors.Results.Concat(h.Results).Concat(c.Results)) all.AddQuiet(r);
var memcpy = floors.Value("floor_memcpy_gbps");
var put = h.Value("single_client_put_gigabytes");
if (!double.IsNaN(memcpy) && !double.IsNaN(put))
    Console.WriteLine($"ratio single_client_put_gigabytes / floor_memcpy_gbps = {put / memcpy:0.00}");
var putNative = h.Value("native_put_gigabytes");
if (!double.IsNaN(put) && !double.IsNaN(putNative))
    Console.WriteLine($"ratio native_put_gigabytes / single_client_put_gigabytes = {putNative / put:0.00}");
var putCluster = c.Value("single_client_put_gigabytes");
if (!double.IsNaN(memcpy) && !double.IsNaN(putCluster))
    Console.WriteLine($"ratio cluster single_client_put_gigabytes (node store) / floor_memcpy_gbps = {putCluster / memcpy:0.00}");
var put1g = h.Value("single_client_put_gigabytes_1GiB");
if (!double.IsNaN(memcpy) && !double.IsNaN(put1g))
    Console.WriteLine($"ratio single_client_put_gigabytes_1GiB (Plasma) / floor_memcpy_gbps = {put1g / memcpy:0.00}");
all.Write(outPath);
Console.WriteLine($"wrote {outPath}");
return 0;
