using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Ray;
using Ray.Perf;
using Ray.Soak;

// make soak: a real raylet, a working driver (task calls, puts and gets) and, for --duration
// seconds (default 60), hostile traffic on every socket of the node: the raylet's TCP port, a
// worker's Unix socket and the store's socket get random frames, slow (byte-at-a-time) and idle
// connections, and the store clients that leave Gets waiting and vanish. Passes when the driver
// saw no error and the raylet daemon's RSS after is within --rss-limit-mb (default 20) of before.
// Loopback and Unix sockets only; every loop ends at the deadline.
// Usage: Ray.Soak [--duration SECONDS] [--out PATH] [--ray-dll PATH] [--rss-limit-mb N] [--keep-logs DIR]
var duration = TimeSpan.FromSeconds(60);
var outPath = "bench/results/soak.json";
string? rayDll = null;
string? keepLogs = null;
var rssLimitMb = 20.0;
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--duration": duration = TimeSpan.FromSeconds(double.Parse(args[++i], CultureInfo.InvariantCulture)); break;
        case "--out": outPath = args[++i]; break;
        case "--ray-dll": rayDll = args[++i]; break;
        case "--rss-limit-mb": rssLimitMb = double.Parse(args[++i], CultureInfo.InvariantCulture); break;
        case "--keep-logs": keepLogs = args[++i]; break;
        default: Console.Error.WriteLine($"unknown argument {args[i]}"); return 2;
    }
}
if (duration <= TimeSpan.Zero || duration > TimeSpan.FromHours(1)) { Console.Error.WriteLine("--duration must be 1 s .. 1 h"); return 2; }

AppDomain.CurrentDomain.ProcessExit += (_, _) => PerfCluster.StopAll();
Console.WriteLine($"ray soak: {Environment.ProcessorCount} cores, .NET {Environment.Version}, {duration.TotalSeconds:0} s of flooding beside a working driver");
await using var cluster = await PerfCluster.StartAsync(PerfCluster.RayDll(rayDll), cpus: 2, storeBytes: 256L << 20);
string address;
using (var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(cluster.SessionDir, "raylet.json"))))
    address = doc.RootElement.EnumerateObject().First(p => p.Name.Equals("address", StringComparison.OrdinalIgnoreCase)).Value.GetString()!;
Console.WriteLine($"raylet pid {cluster.RayletPid} at {address}, session {cluster.SessionDir}");

await using var rt = RayRuntime.Connect(cluster.SessionDir);
var payload = new byte[256 << 10]; // above the inline threshold: a shared-memory object
new Random(7).NextBytes(payload);
long calls = 0, errors = 0;
var errorSamples = new List<string>();

void DriverRound(long i)
{
    var refs = new ObjectRef<long>[50];
    for (var k = 0; k < refs.Length; k++) refs[k] = rt.Task(SoakFns.Add).Remote(i, k);
    var sums = rt.Get(refs, TimeSpan.FromSeconds(30));
    for (var k = 0; k < sums.Length; k++)
        if (sums[k] != i + k) throw new InvalidOperationException($"task {k} of round {i} returned {sums[k]}, not {i + k}");
    var put = rt.Put(payload);
    var sum = rt.Task(SoakFns.Sum).Remote(put).Get(TimeSpan.FromSeconds(30));
    if (sum != payload.Length + payload[0] + payload[^1]) throw new InvalidOperationException($"the worker read a wrong object (sum {sum})");
    var back = put.Get(TimeSpan.FromSeconds(30));
    if (!back.AsSpan().SequenceEqual(payload)) throw new InvalidOperationException("a put object came back different");
    Interlocked.Add(ref calls, refs.Length + 3);
}

// Warm up (leases, worker processes, JIT), then let the daemon settle before measuring.
for (var i = 0; i < 40; i++) DriverRound(i);
calls = 0;
// The store's arena is faulted in by a background pass at start-up (shared memory, counted in
// RSS): wait until that stops growing, so "before" holds the whole arena and the figures
// compare the daemon's own memory.
long shmem = -1;
for (var waited = 0; waited < 60; waited++)
{
    await Task.Delay(1000);
    var now = Flooder.StatusBytes(cluster.RayletPid, "RssShmem");
    if (now == shmem) break;
    shmem = now;
}
var rssBefore = Flooder.RssBytes(cluster.RayletPid);
var anonBefore = Flooder.StatusBytes(cluster.RayletPid, "RssAnon");
var worker = Directory.GetFiles(Path.Combine(cluster.SessionDir, "sockets"), "worker_*").OrderBy(p => p, StringComparer.Ordinal).First();
var store = Path.Combine(cluster.SessionDir, "sockets", "plasma_store");
Console.WriteLine($"raylet RSS before: {rssBefore / 1048576.0:0.0} MiB (anon {anonBefore / 1048576.0:0.0}, shmem {shmem / 1048576.0:0.0}); flooding {address}, {worker}, {store}");

var deadline = DateTime.UtcNow + duration;
var flooders = new[]
{
    new Flooder("raylet TCP", IPEndPoint.Parse(address), deadline, 1),
    new Flooder("worker socket", new UnixDomainSocketEndPoint(worker), deadline, 2),
    new Flooder("store socket", new UnixDomainSocketEndPoint(store), deadline, 3),
};
var floods = new[]
{
    flooders[0].RunAsync(random: 4, slow: 20, idle: 300, abandonedGets: 0), // idle beyond the 256-connection pending pool
    flooders[1].RunAsync(random: 2, slow: 4, idle: 40, abandonedGets: 0),
    flooders[2].RunAsync(random: 4, slow: 20, idle: 200, abandonedGets: 2),
};
var sw = Stopwatch.StartNew();
var driver = Task.Factory.StartNew(() =>
{
    for (long i = 0; DateTime.UtcNow < deadline; i++)
    {
        try { DriverRound(i); }
        catch (Exception e)
        {
            Interlocked.Increment(ref errors);
            lock (errorSamples) if (errorSamples.Count < 5) errorSamples.Add($"{e.GetType().Name}: {e.Message}");
        }
    }
}, TaskCreationOptions.LongRunning);
var progress = Task.Run(async () =>
{
    while (DateTime.UtcNow < deadline)
    {
        await Task.Delay(TimeSpan.FromSeconds(Math.Min(15, Math.Max(1, duration.TotalSeconds / 4))));
        Console.WriteLine($"  {sw.Elapsed.TotalSeconds:0} s: {Interlocked.Read(ref calls)} driver calls, {Interlocked.Read(ref errors)} errors, raylet RSS {Flooder.RssBytes(cluster.RayletPid) / 1048576.0:0.0} MiB (anon {Flooder.StatusBytes(cluster.RayletPid, "RssAnon") / 1048576.0:0.0}, shmem {Flooder.StatusBytes(cluster.RayletPid, "RssShmem") / 1048576.0:0.0}), threads {Flooder.StatusBytes(cluster.RayletPid, "Threads") / 1024}");
    }
});
await Task.WhenAll(floods);
await driver;
await progress;
var flooded = sw.Elapsed;

// After the flood: a new driver joins and runs a task; then the daemon settles and is measured.
await using (var late = RayRuntime.Connect(cluster.SessionDir))
{
    if (late.Task(SoakFns.Add).Remote(40L, 2L).Get(TimeSpan.FromSeconds(30)) != 42) { errors++; errorSamples.Add("the late driver got a wrong answer"); }
}
await Task.Delay(5000);
var rssAfter = Flooder.RssBytes(cluster.RayletPid);
var anonAfter = Flooder.StatusBytes(cluster.RayletPid, "RssAnon");
var growthMb = (rssAfter - rssBefore) / 1048576.0;

Console.WriteLine($"flooded {flooded.TotalSeconds:0.0} s");
foreach (var f in flooders) Console.WriteLine("  " + f);
Console.WriteLine($"driver: {calls} calls completed ({calls / flooded.TotalSeconds:0} /s), {errors} errors");
foreach (var e in errorSamples) Console.WriteLine("  error: " + e);
Console.WriteLine($"raylet RSS: before {rssBefore / 1048576.0:0.0} MiB, after {rssAfter / 1048576.0:0.0} MiB ({growthMb:+0.0;-0.0} MiB; limit {rssLimitMb} MiB); anonymous memory {anonBefore / 1048576.0:0.0} -> {anonAfter / 1048576.0:0.0} MiB");
var ok = errors == 0 && calls > 0 && Math.Abs(growthMb) <= rssLimitMb;
Console.WriteLine(ok ? "PASS" : "FAIL");

if (keepLogs is not null)
{
    // The session (and its logs) is removed on the way out: copy the raylet's and workers' logs first.
    Directory.CreateDirectory(keepLogs);
    foreach (var f in Directory.GetFiles(Path.Combine(cluster.SessionDir, "logs")))
        File.Copy(f, Path.Combine(keepLogs, Path.GetFileName(f)), overwrite: true);
}
Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(outPath))!);
await File.WriteAllTextAsync(outPath, JsonSerializer.Serialize(new
{
    date = DateTime.UtcNow.ToString("u", CultureInfo.InvariantCulture),
    cores = Environment.ProcessorCount,
    seconds = Math.Round(flooded.TotalSeconds, 1),
    driverCalls = calls,
    errors,
    rssBeforeMiB = Math.Round(rssBefore / 1048576.0, 1),
    rssAfterMiB = Math.Round(rssAfter / 1048576.0, 1),
    rssAnonBeforeMiB = Math.Round(anonBefore / 1048576.0, 1),
    rssAnonAfterMiB = Math.Round(anonAfter / 1048576.0, 1),
    floods = flooders.Select(f => new { socket = f.Name, connections = f.Connections, refusedAtConnect = f.Refused, closedByServer = f.ClosedByServer }),
    pass = ok,
}, new JsonSerializerOptions { WriteIndented = true }));
return ok ? 0 : 1;
