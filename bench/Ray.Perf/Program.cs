using Ray;
using Ray.Perf;

// make perf: Ray's microbenchmark cases on an embedded runtime, beside this machine's floors.
// Usage: Ray.Perf [--out PATH] [--filter SUBSTRING] [--trial-ms N] [--trials N]
var outPath = "bench/results/perf.json";
string? filter = null;
var trialMs = 1000;
var trials = 3;
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--out": outPath = args[++i]; break;
        case "--filter": filter = args[++i]; break;
        case "--trial-ms": trialMs = int.Parse(args[++i]); break;
        case "--trials": trials = int.Parse(args[++i]); break;
        default: Console.Error.WriteLine($"unknown argument {args[i]}"); return 2;
    }
}

Console.WriteLine($"ray perf: {Environment.ProcessorCount} cores, .NET {Environment.Version}, {trials} trials x {trialMs} ms, median");
var floors = new PerfHarness("floor", TimeSpan.FromMilliseconds(trialMs), trials, filter);
Floors.Run(floors);

var h = new PerfHarness("embedded", TimeSpan.FromMilliseconds(trialMs), trials, filter);
await using (var rt = RayRuntime.Start())
{
    EmbeddedCases.Run(h, rt);
}

var all = new PerfHarness("all", TimeSpan.Zero, 1, null);
foreach (var r in floors.Results.Concat(h.Results)) all.AddQuiet(r);
var memcpy = floors.Value("floor_memcpy_gbps");
var put = h.Value("single_client_put_gigabytes");
if (!double.IsNaN(memcpy) && !double.IsNaN(put))
    Console.WriteLine($"ratio single_client_put_gigabytes / floor_memcpy_gbps = {put / memcpy:0.00}");
all.Write(outPath);
Console.WriteLine($"wrote {outPath}");
return 0;
