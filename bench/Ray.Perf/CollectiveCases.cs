using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Ray.Perf;

/// <summary>
/// Collectives across processes on this node (the CPU part of the GPU issue): two rank processes
/// joined through shared memory, run by bench/Ray.Gpu.Bench in <c>--perf</c> mode (Ray.Perf does not
/// reference Ray.Gpu; the bench program is built here first). Reports
/// allreduce_busbw_1MiB_2ranks (GB/s), allreduce_latency_1KiB_2ranks (us, median per call),
/// floor_memcpy_1MiB_gbps, and floor_mpi_allreduce_* when mpirun is installed.
/// </summary>
public static class CollectiveCases
{
    private const string Project = "bench/Ray.Gpu.Bench";
    private const string Dll = Project + "/bin/Release/net10.0/Ray.Gpu.Bench.dll";

    public static void Run(PerfHarness h)
    {
        if (!h.Selected("allreduce_busbw_1MiB_2ranks") && !h.Selected("allreduce_latency_1KiB_2ranks")) return;
        // Always (incrementally) built, so the figures never come from a stale Ray.Gpu.
        if (Exec("dotnet", ["build", Project, "-c", "Release", "-nologo", "-v", "quiet"], out _) != 0 && !File.Exists(Dll))
        {
            Console.WriteLine($"collectives: could not build {Project}; skipped");
            return;
        }

        if (Exec("dotnet", [Dll, "--perf"], out var output) != 0)
        {
            Console.WriteLine($"collectives: {Dll} --perf failed; skipped\n{output}");
            return;
        }

        foreach (Match m in Regex.Matches(output, @"^RESULT (\S+) (\S+)$", RegexOptions.Multiline))
        {
            var name = m.Groups[1].Value;
            var value = double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
            h.Add(name, name.StartsWith("floor_", StringComparison.Ordinal) ? "floor" : "embedded", value, name.Contains("latency", StringComparison.Ordinal) ? "us" : "GB/s");
        }

        foreach (Match m in Regex.Matches(output, @"^# (LATENCY .*)$", RegexOptions.Multiline)) Console.WriteLine($"    {m.Groups[1].Value}");
        Ratio(h, "allreduce_busbw_1MiB_2ranks", "floor_mpi_allreduce_busbw_1MiB_2ranks");
        Ratio(h, "allreduce_latency_1KiB_2ranks", "floor_mpi_allreduce_latency_1KiB_2ranks");
        Ratio(h, "allreduce_busbw_1MiB_2ranks", "floor_memcpy_1MiB_gbps");
    }

    private static void Ratio(PerfHarness h, string name, string floor)
    {
        double a = h.Value(name), b = h.Value(floor);
        if (!double.IsNaN(a) && !double.IsNaN(b)) Console.WriteLine($"ratio {name} / {floor} = {a / b:0.00}");
    }

    private static int Exec(string file, string[] args, out string output)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        output = p.StandardOutput.ReadToEnd();
        if (!p.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            p.Kill(entireProcessTree: true);
            return -1;
        }

        return p.ExitCode;
    }
}
