using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Ray.Gpu.Bench;

/// <summary>
/// Starts one rank process per rank (this program with <c>--rank</c>), relays rank 0's lines, and
/// kills whatever is left if anything fails. Also runs the MPI peer when mpirun is installed.
/// </summary>
internal static partial class Launcher
{
    public static List<string> RunRanks(string mode, int world, long maxBytes)
    {
        string directory = Directory.CreateTempSubdirectory("ray-gpu-bench-").FullName;
        string group = $"bench-{Environment.ProcessId}-{world}-{mode}";
        var processes = new List<Process>();
        var lines = new List<string>();
        string? rankZero = null;
        if (mode.StartsWith("tcp-", StringComparison.Ordinal))
        {
            using var probe = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
            probe.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
            rankZero = probe.LocalEndPoint!.ToString();
        }

        try
        {
            for (int rank = 0; rank < world; rank++)
            {
                var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, UseShellExecute = false };
                foreach (string arg in new[] { typeof(Launcher).Assembly.Location, "--rank", mode, directory, group, I(world), I(rank), I(maxBytes) })
                {
                    psi.ArgumentList.Add(arg);
                }

                if (rankZero is not null)
                {
                    psi.ArgumentList.Add(rankZero);
                }

                processes.Add(Process.Start(psi)!);
            }

            Task<string>[] outputs = processes.Select(p => p.StandardOutput.ReadToEndAsync()).ToArray();
            foreach (Process p in processes)
            {
                if (!p.WaitForExit(TimeSpan.FromMinutes(10)) || p.ExitCode != 0)
                {
                    throw new InvalidOperationException($"rank process {p.Id} failed (exit {(p.HasExited ? p.ExitCode : -1)})");
                }
            }

            foreach (string line in outputs[0].Result.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                lines.Add(line);
            }
        }
        finally
        {
            foreach (Process p in processes)
            {
                if (!p.HasExited)
                {
                    p.Kill();
                }

                p.Dispose();
            }

            Directory.Delete(directory, recursive: true);
        }

        return lines;
    }

    /// <summary>
    /// Builds and runs ../shared/peers/mpi-allreduce with <paramref name="world"/> ranks; null without
    /// mpirun. <paramref name="tcp"/> forces Open MPI's TCP transport over loopback
    /// (<c>--mca btl tcp,self</c>), the peer of our TCP transport; otherwise MPI picks shared memory.
    /// </summary>
    public static List<string>? RunMpi(string peerDirectory, int world, bool tcp = false)
    {
        if (FindOnPath("mpirun") is null || FindOnPath("mpicc") is null || !File.Exists(Path.Combine(peerDirectory, "allreduce.c")))
        {
            return null;
        }

        string binary = Path.Combine(Path.GetTempPath(), $"ray-mpi-allreduce-{Environment.ProcessId}");
        Run("mpicc", ["-O2", "-o", binary, Path.Combine(peerDirectory, "allreduce.c")]);
        try
        {
            string[] transport = tcp ? ["--mca", "btl", "tcp,self"] : [];
            string output = Run("mpirun", ["--allow-run-as-root", "--oversubscribe", "-np", I(world), "--mca", "oob_tcp_if_include", "lo", "--mca", "btl_tcp_if_include", "lo", .. transport, binary]);
            string test = tcp ? "test=mpi_allreduce_tcp" : "test=mpi_allreduce_shm";
            return output.Split('\n').Where(l => l.StartsWith("RESULT", StringComparison.Ordinal)).Select(l => l.Replace("test=allreduce", test, StringComparison.Ordinal)).ToList();
        }
        finally
        {
            File.Delete(binary);
        }
    }

    /// <summary>A field of a RESULT line (e.g. busbw_GBps), or NaN.</summary>
    public static double Field(string line, string name)
    {
        Match m = Regex.Match(line, $@"\b{name}=([0-9.]+)");
        return m.Success ? double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : double.NaN;
    }

    public static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':')
            .Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);

    private static string Run(string file, string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, UseShellExecute = false };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using Process p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return p.ExitCode == 0 ? output : throw new InvalidOperationException($"{file} exited {p.ExitCode}");
    }

    private static string I(long value) => value.ToString(CultureInfo.InvariantCulture);
}
