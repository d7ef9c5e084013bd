using System.Diagnostics;
using System.Globalization;
using System.Reflection;

namespace Ray.Gpu.Tests.Collectives;

/// <summary>
/// Starts one Ray.Gpu.TestRank process per rank of a shared-memory group, in a fresh temporary
/// directory (the rendezvous segment lives there), and kills whatever is still running on dispose.
/// </summary>
internal sealed class RankProcesses : IDisposable
{
    private readonly List<Process> _processes = new();
    private readonly List<Task<string>> _outputs = new();

    public RankProcesses(string scenario, int worldSize, double timeoutSeconds = 30, string? rankZeroEndpoint = null)
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("ray-gpu-ranks-").FullName;
        string group = $"g{Environment.ProcessId}-{Guid.NewGuid():N}";
        for (int rank = 0; rank < worldSize; rank++)
        {
            var psi = new ProcessStartInfo("dotnet")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (string arg in new[] { RankPath, scenario, Directory, group, worldSize.ToString(CultureInfo.InvariantCulture), rank.ToString(CultureInfo.InvariantCulture), timeoutSeconds.ToString(CultureInfo.InvariantCulture) })
            {
                psi.ArgumentList.Add(arg);
            }

            if (rankZeroEndpoint is not null)
            {
                psi.ArgumentList.Add(rankZeroEndpoint);
            }

            Process process = Process.Start(psi)!;
            _processes.Add(process);
            _ = process.StandardError.ReadToEndAsync();
            _outputs.Add(process.StandardOutput.ReadToEndAsync());
        }
    }

    public string Directory { get; }

    /// <summary>A loopback endpoint with a port that was free a moment ago (for rank 0 of a TCP group).</summary>
    public static string FreeLoopbackEndpoint()
    {
        using var probe = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        probe.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        return probe.LocalEndPoint!.ToString()!;
    }

    public Process this[int rank] => _processes[rank];

    /// <summary>Waits for rank <paramref name="rank"/> to exit; returns its exit code and standard output.</summary>
    public async Task<(int ExitCode, string Output)> WaitAsync(int rank, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _processes[rank].WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"rank {rank} did not exit within {timeout}");
        }

        return (_processes[rank].ExitCode, await _outputs[rank]);
    }

    /// <summary>Reads rank <paramref name="rank"/>'s output until a line equal to <paramref name="line"/>.</summary>
    public async Task WaitForLineAsync(int rank, string line, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < timeout)
        {
            // The output is read to the end in the background; poll the process's progress through a marker file instead.
            if (File.Exists(Path.Combine(Directory, $"ready.{rank}")))
            {
                return;
            }

            await Task.Delay(20);
        }

        throw new TimeoutException($"rank {rank} did not print {line} within {timeout}");
    }

    public void Dispose()
    {
        foreach (Process process in _processes)
        {
            try
            {
                if (!process.HasExited)
                {
                    process.Kill();
                    process.WaitForExit(5000);
                }
            }
            catch (InvalidOperationException)
            {
            }

            process.Dispose();
        }

        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static string RankPath
    {
        get
        {
            string? configured = typeof(RankProcesses).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
                .FirstOrDefault(a => a.Key == "TestRankPath")?.Value;
            if (configured is not null && File.Exists(configured))
            {
                return configured;
            }

            string here = Path.GetDirectoryName(typeof(RankProcesses).Assembly.Location)!;
            string fallback = Path.Combine(here, "..", "..", "..", "..", "Ray.Gpu.TestRank", "bin", "Release", "net10.0", "Ray.Gpu.TestRank.dll");
            return File.Exists(fallback) ? fallback : throw new FileNotFoundException("Ray.Gpu.TestRank.dll not found; build tests/Ray.Gpu.TestRank", configured);
        }
    }
}
