using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Ray.Serve;

namespace Ray.Perf;

/// <summary>The deployment the serve cases call: the same work as the bare Kestrel floor (a short text answer).</summary>
public sealed class HelloDeployment
{
    private static readonly byte[] s_hello = Encoding.UTF8.GetBytes("hello");

    public ServeResponse Handle(ServeRequest request) => new() { Body = s_hello };
}

/// <summary>The same, batched.</summary>
public sealed class HelloBatchDeployment
{
    private static readonly byte[] s_hello = Encoding.UTF8.GetBytes("hello");

    [Batch(maxBatchSize: 8, batchWaitTimeoutMs: 1)]
    public ServeResponse[] Handle(ServeRequest[] requests) => requests.Select(_ => new ServeResponse { Body = s_hello }).ToArray();
}

/// <summary>
/// Ray Serve against a bare Kestrel endpoint doing the same work, both driven by Debian's `wrk`
/// in the same run (skipped with a message when wrk is not installed): latency at one connection
/// (p50, p99, one replica) and throughput at 32 connections (two replicas, with and without batching).
/// </summary>
public static class ServeCases
{
    private const string Names = "serve_p50_us|serve_p99_us|serve_rps_2replicas|serve_rps_2replicas_batched|floor_kestrel_p50_us|floor_kestrel_p99_us|floor_kestrel_rps";

    public static async Task RunAsync(PerfHarness h, TimeSpan trial)
    {
        if (!Names.Split('|').Any(h.Selected)) return;
        try { await RunCasesAsync(h, trial); }
        catch (Exception e) when (e is InvalidOperationException or IOException or TimeoutException or ServeException)
        {
            // One failed case (wrk errors, a port in use) must not cost the rest of `make perf`.
            Console.WriteLine($"serve cases failed: {e.Message}");
            h.AddQuiet(new PerfResult("serve_cases_failed", "embedded", 1, "count"));
        }
    }

    private static async Task RunCasesAsync(PerfHarness h, TimeSpan trial)
    {
        var wrk = FindWrk();
        if (wrk is null)
        {
            Console.WriteLine("serve cases skipped: wrk is not installed (apt-get install wrk)");
            return;
        }
        var seconds = Math.Max(2, (int)Math.Ceiling(trial.TotalSeconds * 2));

        // Both servers run side by side and their wrk runs alternate (three rounds, medians): the
        // shared machine's load moves between runs, so a floor measured minutes apart would not compare.
        await using var floor = await BareKestrel.StartAsync();
        await using var ray = RayRuntime.Start();
        await using var serve = await Serve.Serve.StartAsync(ray, new ServeOptions { Http = new HttpOptions { Port = 0 } });
        serve.Run(Serve.Serve.Deployment<HelloDeployment>(new DeploymentOptions { Name = "one" }).Bind(), "one", "/one");
        serve.Run(Serve.Serve.Deployment<HelloDeployment>(new DeploymentOptions { Name = "two", NumReplicas = 2 }).Bind(), "two", "/two");
        serve.Run(Serve.Serve.Deployment<HelloBatchDeployment>(new DeploymentOptions { Name = "batched", NumReplicas = 2, MaxOngoingRequests = 16 }).Bind(), "batched", "/batched");
        var targets = new (string Name, Uri Url, int Threads, int Connections)[]
        {
            ("floor_lat", floor.Address, 1, 1), ("serve_lat", new Uri(serve.HttpAddress, "/one"), 1, 1),
            ("floor_rps", floor.Address, 2, 32), ("serve_rps", new Uri(serve.HttpAddress, "/two"), 2, 32),
            ("serve_batched", new Uri(serve.HttpAddress, "/batched"), 2, 32),
        };
        foreach (var t in targets) await WrkOnceAsync(wrk, t.Url, t.Threads, t.Connections, 1); // warm-up: JIT, pools, connections
        var runs = targets.ToDictionary(t => t.Name, _ => new List<WrkResult>());
        for (var round = 0; round < 3; round++)
            foreach (var t in targets) runs[t.Name].Add(await WrkOnceAsync(wrk, t.Url, t.Threads, t.Connections, seconds));
        double Median(string name, Func<WrkResult, double> f) => runs[name].Select(f).Order().ElementAt(1);
        h.Add("floor_kestrel_p50_us", "floor", Median("floor_lat", r => r.P50), "us");
        h.Add("floor_kestrel_p99_us", "floor", Median("floor_lat", r => r.P99), "us");
        h.Add("floor_kestrel_rps", "floor", Median("floor_rps", r => r.Rps), "per_second");
        h.Add("serve_p50_us", "embedded", Median("serve_lat", r => r.P50), "us");
        h.Add("serve_p99_us", "embedded", Median("serve_lat", r => r.P99), "us");
        h.Add("serve_rps_2replicas", "embedded", Median("serve_rps", r => r.Rps), "per_second");
        h.Add("serve_rps_2replicas_batched", "embedded", Median("serve_batched", r => r.Rps), "per_second");
        var ratios = Enumerable.Range(0, 3).Select(i => runs["serve_rps"][i].Rps / runs["floor_rps"][i].Rps).ToList();
        var batchedRatios = Enumerable.Range(0, 3).Select(i => runs["serve_batched"][i].Rps / runs["floor_rps"][i].Rps).ToList();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"    per round: rps ratio {string.Join(" ", ratios.Select(r => r.ToString("0.00", CultureInfo.InvariantCulture)))}, batched {string.Join(" ", batchedRatios.Select(r => r.ToString("0.00", CultureInfo.InvariantCulture)))}"));
        PrintTargets(h);
    }

    private static void PrintTargets(PerfHarness h)
    {
        double V(string n) => h.Value(n);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"serve p50 overhead over bare Kestrel: {V("serve_p50_us") - V("floor_kestrel_p50_us"):0.0} us (goal <= 100), p99 overhead {V("serve_p99_us") - V("floor_kestrel_p99_us"):0.0} us"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"ratio serve_rps_2replicas / floor_kestrel_rps = {V("serve_rps_2replicas") / V("floor_kestrel_rps"):0.00} (goal >= 0.5); batched {V("serve_rps_2replicas_batched") / V("floor_kestrel_rps"):0.00}"));
    }

    private static string? FindWrk() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(d => Path.Combine(d, "wrk")).FirstOrDefault(File.Exists);

    private sealed record WrkResult(double P50, double P99, double Rps);

    private static async Task<WrkResult> WrkOnceAsync(string wrk, Uri url, int threads, int connections, int seconds)
    {
        var psi = new ProcessStartInfo(wrk) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "-t", threads.ToString(CultureInfo.InvariantCulture), "-c", connections.ToString(CultureInfo.InvariantCulture), "-d", $"{seconds}s", "--latency", url.ToString() })
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var output = await p.StandardOutput.ReadToEndAsync();
        var error = await p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(seconds + 30));
        var rps = Regex.Match(output, @"Requests/sec:\s+([\d.]+)");
        if (p.ExitCode != 0 || !rps.Success) throw new InvalidOperationException($"wrk failed ({p.ExitCode}): {output} {error}");
        if (Regex.Match(output, @"Non-2xx or 3xx responses:\s+(\d+)") is { Success: true } bad)
            throw new InvalidOperationException($"wrk got {bad.Groups[1].Value} error responses from {url}");
        return new WrkResult(Percentile(output, "50"), Percentile(output, "99"), double.Parse(rps.Groups[1].Value, CultureInfo.InvariantCulture));
    }

    // wrk --latency prints "     50%   25.00us" (us, ms or s).
    private static double Percentile(string output, string pct)
    {
        var m = Regex.Match(output, $@"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", RegexOptions.Multiline);
        if (!m.Success) throw new InvalidOperationException($"no {pct}% line in wrk's output: {output}");
        var v = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        return m.Groups[2].Value switch { "us" => v, "ms" => v * 1000, _ => v * 1_000_000 };
    }

    /// <summary>Kestrel as Serve's proxy sets it up (slim builder, warnings only), answering "hello" itself.</summary>
    private sealed class BareKestrel : IAsyncDisposable
    {
        private static readonly byte[] s_hello = Encoding.UTF8.GetBytes("hello");
        private readonly WebApplication _app;

        private BareKestrel(WebApplication app, Uri address)
        {
            _app = app;
            Address = address;
        }

        public Uri Address { get; }

        public static async Task<BareKestrel> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
            builder.Logging.ClearProviders();
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            builder.WebHost.ConfigureKestrel(k => { k.Listen(IPAddress.Loopback, 0); k.AddServerHeader = false; });
            var app = builder.Build();
            app.Run(async ctx =>
            {
                ctx.Response.ContentType = "text/plain; charset=utf-8";
                ctx.Response.ContentLength = s_hello.Length;
                await ctx.Response.Body.WriteAsync(s_hello);
            });
            await app.StartAsync();
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            return new BareKestrel(app, new Uri(address));
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
