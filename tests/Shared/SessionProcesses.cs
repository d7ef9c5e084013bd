using System.Diagnostics;

namespace Ray.Tests.Shared;

/// <summary>
/// The processes of one raylet session (the raylet, its workers), for tests and benchmarks that
/// start a cluster and must stop everything they started by pid, even when they fail.
/// </summary>
internal static class SessionProcesses
{
    /// <summary>Pids whose command line names <paramref name="sessionDir"/> (and <paramref name="marker"/>, when given), from /proc.</summary>
    public static List<int> Find(string sessionDir, string marker = "")
    {
        var found = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid) || pid == Environment.ProcessId) continue;
            string cmd;
            try { cmd = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' '); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { continue; }
            if (cmd.Contains(sessionDir, StringComparison.Ordinal) && (marker.Length == 0 || cmd.Contains(marker, StringComparison.Ordinal))) found.Add(pid);
        }
        return found;
    }

    /// <summary>Kills the process if it still runs (gone already: nothing to do).</summary>
    public static void Kill(int pid)
    {
        try { Process.GetProcessById(pid).Kill(); }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception) { }
    }

    /// <summary>
    /// Runs the ray CLI (<c>dotnet <paramref name="rayDll"/> args</c>) without the caller's
    /// RAY_ADDRESS / RAY_CLUSTER_TOKEN; returns its exit code and output.
    /// </summary>
    public static async Task<(int Code, string Output)> RunRayAsync(string rayDll, IEnumerable<string> args, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(rayDll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment.Remove("RAY_ADDRESS");
        psi.Environment.Remove("RAY_CLUSTER_TOKEN");
        using var p = Process.Start(psi)!;
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync().WaitAsync(timeout);
        return (p.ExitCode, await o + await e);
    }
}
