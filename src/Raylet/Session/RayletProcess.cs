using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace Ray.Raylet.Session;

/// <summary>
/// Starts a raylet daemon detached and finds, signals and waits for one by pid. The daemon is
/// not a child of the process that stops it (`ray stop` runs later), so liveness comes from
/// /proc, not from waitpid.
/// </summary>
public static partial class RayletProcess
{
    /// <summary>SIGKILL.</summary>
    public const int SigKill = 9;

    /// <summary>SIGTERM.</summary>
    public const int SigTerm = 15;

    /// <summary>The name of the hidden subcommand that runs the daemon.</summary>
    public const string DaemonCommand = "raylet";

    // Runs the daemon in a new session (no controlling terminal: a Ctrl-C in the shell that ran
    // `ray start` does not reach it) with stdin from /dev/null and stdout and stderr appended to
    // the log. `exec` keeps one pid from sh to the daemon: setsid execs without forking when its
    // caller is not a process group leader, which a child of `ray start` is not.
    private const string LaunchScript =
        "log=\"$RAY_RAYLET_LOG\"; unset RAY_RAYLET_LOG; " +
        "if command -v setsid >/dev/null 2>&1; then exec setsid \"$@\" </dev/null >>\"$log\" 2>&1; " +
        "else exec \"$@\" </dev/null >>\"$log\" 2>&1; fi";

    /// <summary>
    /// Starts <c>ray raylet ARGS</c> (this same program) detached, its output appended to
    /// <paramref name="logFile"/>. Returns the launched process; its pid is the daemon's unless
    /// setsid had to fork (the daemon writes its own pid into the address file either way).
    /// </summary>
    public static Process StartDetached(IReadOnlyList<string> daemonArgs, string logFile, string workingDirectory, string? clusterToken = null)
    {
        var psi = new ProcessStartInfo("/bin/sh")
        {
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(LaunchScript);
        psi.ArgumentList.Add("ray-raylet"); // $0
        foreach (var a in SelfCommand()) psi.ArgumentList.Add(a);
        psi.ArgumentList.Add(DaemonCommand);
        foreach (var a in daemonArgs) psi.ArgumentList.Add(a);
        psi.Environment["RAY_RAYLET_LOG"] = logFile;
        // A joining node's token (the head's): in the environment, never on the command line.
        if (clusterToken is not null) psi.Environment[Ray.Contract.Session.SessionPaths.TokenVariable] = clusterToken;
        else psi.Environment.Remove(Ray.Contract.Session.SessionPaths.TokenVariable);
        return Process.Start(psi) ?? throw new InvalidOperationException("could not start /bin/sh to launch the raylet");
    }

    /// <summary>How to run this program again: the apphost, or <c>dotnet ray.dll</c>.</summary>
    public static IReadOnlyList<string> SelfCommand()
    {
        var processPath = Environment.ProcessPath;
        var assembly = typeof(RayletProcess).Assembly.Location;
        if (processPath is null || Path.GetFileNameWithoutExtension(processPath) == "dotnet")
            return [processPath ?? "dotnet", assembly];
        return [processPath];
    }

    /// <summary>True while <paramref name="pid"/> exists and is not a zombie.</summary>
    public static bool IsAlive(int pid)
    {
        if (pid <= 0) return false;
        string stat;
        try { stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat"); }
        catch (IOException) { return false; }
        catch (UnauthorizedAccessException) { return true; }
        // "pid (comm) S ...": the state follows the last ')' (comm may contain parentheses).
        var close = stat.LastIndexOf(')');
        if (close < 0 || close + 2 >= stat.Length) return true;
        var state = stat[close + 2];
        return state is not ('Z' or 'X' or 'x');
    }

    /// <summary>
    /// True when <paramref name="pid"/> is alive and runs the raylet subcommand; guards against
    /// signalling an unrelated process that reused a dead raylet's pid.
    /// </summary>
    public static bool IsRaylet(int pid)
    {
        if (!IsAlive(pid)) return false;
        try
        {
            var args = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/cmdline").Split('\0');
            return args.Contains(DaemonCommand, StringComparer.Ordinal);
        }
        catch (IOException) { return false; }
        catch (UnauthorizedAccessException) { return false; }
    }

    /// <summary>Sends <paramref name="signal"/> to <paramref name="pid"/>; false when it is gone.</summary>
    public static bool Signal(int pid, int signal) => pid > 0 && Kill(pid, signal) == 0;

    /// <summary>Waits until <paramref name="pid"/> is gone; false on timeout.</summary>
    public static async Task<bool> WaitForExitAsync(int pid, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var sw = Stopwatch.StartNew();
        while (IsAlive(pid))
        {
            if (sw.Elapsed >= timeout) return false;
            await Task.Delay(25, cancellationToken).ConfigureAwait(false);
        }
        return true;
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
