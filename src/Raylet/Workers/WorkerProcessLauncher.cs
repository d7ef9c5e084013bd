using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using Ray.Contract.Session;
using Ray.Raylet.Session;

namespace Ray.Raylet.Workers;

/// <summary>
/// Starts real worker processes: this same program with the hidden <c>worker</c> subcommand,
/// <code>
/// dotnet ray.dll worker --raylet-address HOST:PORT --job-id J --worker-id W --session-dir DIR
///     [--plasma-socket PATH] [--code-path PATH]...
/// </code>
/// (or the apphost instead of <c>dotnet ray.dll</c>, as <see cref="RayletProcess.SelfCommand"/>
/// finds), with RAY_CLUSTER_TOKEN in its environment, stdin from /dev/null, stdout appended to
/// <c>logs/worker-J-W.out</c> and stderr to <c>logs/worker-J-W.err</c> (as Ray splits them; the
/// driver forwards each to its own stdout or stderr). It runs through <c>/bin/sh -c 'exec ...'</c> only to
/// redirect its output to the file: <c>exec</c> keeps one pid, the worker is a child of the raylet
/// (so .NET reaps it), and no thread of the raylet pumps its output.
/// </summary>
internal sealed class WorkerProcessLauncher : IWorkerLauncher
{
    /// <summary>The hidden subcommand that runs a worker.</summary>
    internal const string WorkerCommandName = "worker";

    private const string LaunchScript =
        "log=\"$RAY_WORKER_LOG\"; unset RAY_WORKER_LOG; exec \"$@\" </dev/null >>\"$log\" 2>>\"${log%.out}.err\"";

    private readonly IReadOnlyList<string> _command;

    /// <summary>
    /// A launcher running <paramref name="command"/> followed by the worker's arguments; default
    /// this program and <c>worker</c>. Tests pass a script that records its arguments.
    /// </summary>
    internal WorkerProcessLauncher(IReadOnlyList<string>? command = null) =>
        _command = command ?? [.. RayletProcess.SelfCommand(), WorkerCommandName];

    /// <summary>The worker's arguments after the command (no token: it travels in the environment).</summary>
    internal static IReadOnlyList<string> Arguments(WorkerLaunchRequest request)
    {
        var args = new List<string>
        {
            "--raylet-address", request.RayletAddress,
            "--job-id", request.JobId.ToString(CultureInfo.InvariantCulture),
            "--worker-id", request.WorkerId.ToString(CultureInfo.InvariantCulture),
            "--session-dir", request.SessionDir,
        };
        if (!string.IsNullOrEmpty(request.PlasmaSocket)) args.AddRange(["--plasma-socket", request.PlasmaSocket]);
        if (request.OwnerId != 0) args.AddRange(["--owner-id", request.OwnerId.ToString(CultureInfo.InvariantCulture)]);
        foreach (var p in request.CodePaths) args.AddRange(["--code-path", p]);
        return args;
    }

    /// <inheritdoc />
    public IWorkerProcess Launch(WorkerLaunchRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var psi = new ProcessStartInfo("/bin/sh")
        {
            UseShellExecute = false,
            WorkingDirectory = request.SessionDir,
        };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(LaunchScript);
        psi.ArgumentList.Add("ray-worker"); // $0
        foreach (var a in _command) psi.ArgumentList.Add(a);
        foreach (var a in Arguments(request)) psi.ArgumentList.Add(a);
        psi.Environment[SessionPaths.TokenVariable] = request.Token;
        psi.Environment["RAY_WORKER_LOG"] = request.LogFile;
        // A worker finds its raylet on the command line, not through a driver's variable.
        psi.Environment.Remove("RAY_ADDRESS");
        var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        var exited = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        process.Exited += (_, _) => exited.TrySetResult();
        try
        {
            if (!process.Start()) throw new InvalidOperationException("Process.Start returned false");
        }
        catch (Exception e) when (e is Win32Exception or InvalidOperationException)
        {
            process.Dispose();
            throw new InvalidOperationException($"cannot start worker {request.WorkerId} of job {request.JobId}: {e.Message}", e);
        }
        // Exited may have fired before the handler saw a started process; HasExited settles it.
        if (process.HasExited) exited.TrySetResult();
        return new StartedWorker(process, exited.Task);
    }

    private sealed class StartedWorker(Process process, Task exited) : IWorkerProcess
    {
        public int Pid { get; } = process.Id;

        public Task Exited { get; } = exited;

        public void Kill()
        {
            // Process.Kill signals the pid it started and has not reaped yet, so it cannot hit a
            // reused pid; on an exited process it does nothing.
            try { process.Kill(); }
            catch (Exception e) when (e is InvalidOperationException or Win32Exception or NotSupportedException) { }
        }

        public void Dispose() => process.Dispose();
    }
}
