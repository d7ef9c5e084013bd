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
        var wrk = FindWrk();
        if (wrk is null)
        {
            Console.WriteLine("serve cases skipped: wrk is not installed (apt-get install wrk)");
            return;
        }
        var seconds = Math.Max(2, (int)Math.Ceiling(trial.TotalSeconds * 2));

        await using (var floor = await BareKestrel.StartAsync())
        {
            var lat = await WrkAsync(wrk, floor.Address, 1, 1, seconds);
            var rps = await WrkAsync(wrk, floor.Address, 2, 32, seconds);
            h.Add("floor_kestrel_p50_us", "floor", lat.P50, "us");
            h.Add("floor_kestrel_p99_us", "floor", lat.P99, "us");
            h.Add("floor_kestrel_rps", "floor", rps.Rps, "per_second");
        }

        await using var ray = RayRuntime.Start();
        await using var serve = await Serve.Serve.StartAsync(ray, new ServeOptions { Http = new HttpOptions { Port = 0 } });
        serve.Run(Serve.Serve.Deployment<HelloDeployment>(new DeploymentOptions { Name = "one" }).Bind(), "one", "/one");
        serve.Run(Serve.Serve.Deployment<HelloDeployment>(new DeploymentOptions { Name = "two", NumReplicas = 2 }).Bind(), "two", "/two");
        serve.Run(Serve.Serve.Deployment<HelloBatchDeployment>(new DeploymentOptions { Name = "batched", NumReplicas = 2, MaxOngoingRequests = 16 }).Bind(), "batched", "/batched");
        var one = await WrkAsync(wrk, new Uri(serve.HttpAddress, "/one"), 1, 1, seconds);
        h.Add("serve_p50_us", "embedded", one.P50, "us");
        h.Add("serve_p99_us", "embedded", one.P99, "us");
        var two = await WrkAsync(wrk, new Uri(serve.HttpAddress, "/two"), 2, 32, seconds);
        h.Add("serve_rps_2replicas", "embedded", two.Rps, "per_second");
        var batched = await WrkAsync(wrk, new Uri(serve.HttpAddress, "/batched"), 2, 32, seconds);
        h.Add("serve_rps_2replicas_batched", "embedded", batched.Rps, "per_second");
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

    // A one-second run first warms the path (JIT, thread pool, connections), then the measured run.
    private static async Task<WrkResult> WrkAsync(string wrk, Uri url, int threads, int connections, int seconds)
    {
        await WrkOnceAsync(wrk, url, threads, connections, 1);
        return await WrkOnceAsync(wrk, url, threads, connections, seconds);
    }

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
