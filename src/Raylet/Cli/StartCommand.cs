using System.CommandLine;
using System.Diagnostics;
using System.Runtime.InteropServices;
using Ray.Protocol;
using Ray.Raylet.Client;
using Ray.Raylet.Session;

namespace Ray.Raylet.Cli;

/// <summary>
/// <c>ray start --head</c>:
/// 1. Validate the options here, so mistakes are reported before anything starts.
/// 2. Pick the session directory (a fresh one linked from session_latest, or --session-dir);
///    refuse when a raylet of that session is already running.
/// 3. Run <c>ray raylet</c> detached, its output appended to logs/raylet.out.
/// 4. Wait for its address file (written once it listens), then check it answers Hello and Status.
/// 5. Print the address; with --block, stay until it exits (Ctrl-C stops it).
/// </summary>
internal static class StartCommand
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    internal static Command Create()
    {
        var node = new NodeOptions();
        var sessionDir = CliOptions.SessionDir("Session directory for the address file, logs and sockets (default: a new /tmp/ray/session_<time>_<pid>, linked from /tmp/ray/session_latest).");
        var block = new Option<bool>("--block") { Description = "Stay in the foreground until the raylet exits; Ctrl-C (or SIGTERM) stops it." };
        var command = new Command("start", "Start a raylet (node daemon) in the background: it hosts the node's object store and resources and writes <session>/raylet.json with its address and cluster token.");
        node.AddTo(command);
        command.Options.Add(sessionDir);
        command.Options.Add(block);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;

            // 1. validate
            if (!parse.GetValue(node.Head))
            {
                await error.WriteLineAsync("ray start: --head is required: this version starts the head node of a new cluster (joining one with --address comes with multi-node support).").ConfigureAwait(false);
                return 1;
            }
            var problem = node.Validate(parse);
            if (problem is not null)
            {
                await error.WriteLineAsync("ray start: " + problem).ConfigureAwait(false);
                return 1;
            }

            // 2. session
            SessionLayout session;
            try
            {
                var dir = parse.GetValue(sessionDir);
                if (dir is null && RunningIn(SessionLayout.Latest()) is { } latest)
                {
                    await error.WriteLineAsync($"ray start: a raylet is already running at {latest.Address} (pid {latest.Pid}) for session {latest.SessionDir}; run `ray stop` first, or pass --session-dir for a second one.").ConfigureAwait(false);
                    return 1;
                }
                session = dir is null ? SessionLayout.CreateNew() : new SessionLayout(dir).EnsureCreated();
                if (dir is not null && RunningIn(session) is { } running)
                {
                    await error.WriteLineAsync($"ray start: a raylet is already running at {running.Address} (pid {running.Pid}) for session {session.Directory}; run `ray stop --session-dir {session.Directory}` first.").ConfigureAwait(false);
                    return 1;
                }
                AddressFile.Delete(session.AddressFile); // stale: its raylet is gone
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
            {
                await error.WriteLineAsync($"ray start: cannot prepare the session directory: {e.Message}").ConfigureAwait(false);
                return 1;
            }

            // 3. launch
            var args = node.ToDaemonArgs(parse, session.Directory);
            Process launched;
            try { launched = RayletProcess.StartDetached(args, session.RayletLog, session.Directory); }
            catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
            {
                await error.WriteLineAsync($"ray start: cannot launch the raylet: {e.Message}").ConfigureAwait(false);
                return 1;
            }

            // 4. wait until it listens and answers
            RayletAddressInfo info;
            using (launched)
            {
                var (ready, failure) = await WaitForAddressFileAsync(session, launched, cancellationToken).ConfigureAwait(false);
                if (ready is null)
                {
                    if (RayletProcess.IsRaylet(launched.Id)) RayletProcess.Signal(launched.Id, RayletProcess.SigKill);
                    await error.WriteLineAsync($"ray start: {failure}\n--- {session.RayletLog} (last lines) ---\n{CliOptions.Tail(session.RayletLog)}").ConfigureAwait(false);
                    return 1;
                }
                info = ready;
            }
            try
            {
                await using var client = await RayletClient.ConnectAsync(info.Address, info.Token, cancellationToken: cancellationToken).ConfigureAwait(false);
                await client.GetStatusAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is RayletException or TimeoutException or ProtocolException)
            {
                await RayletStopper.StopAsync(session, TimeSpan.FromSeconds(2), TextWriter.Null, TextWriter.Null).ConfigureAwait(false);
                await error.WriteLineAsync($"ray start: the raylet wrote its address file but does not answer at {info.Address}: {e.Message}").ConfigureAwait(false);
                return 1;
            }

            // 5. report
            await output.WriteLineAsync($"""
                Started the raylet (pid {info.Pid}, node {info.NodeId}).
                  Address:      {info.Address}
                  Session:      {session.Directory}
                  Address file: {session.AddressFile} (holds the cluster token; mode 0600)
                  Object store: {info.PlasmaSocket} ({info.ObjectStorePath})
                  Log:          {session.RayletLog}

                To connect from this machine, set:
                RAY_ADDRESS={info.Address}
                (the cluster token is read from the address file; elsewhere, set RAY_CLUSTER_TOKEN from its "token" field)

                `ray status` shows the node; `ray stop` stops it.
                """).ConfigureAwait(false);
            if (parse.GetValue(block)) return await BlockAsync(session, info, output, error).ConfigureAwait(false);
            return 0;
        });
        return command;
    }

    /// <summary>The running raylet of <paramref name="session"/>, or null (none, or its address file is stale).</summary>
    private static RayletAddressInfo? RunningIn(SessionLayout session)
    {
        RayletAddressInfo? info;
        try { info = AddressFile.TryRead(session.AddressFile); }
        catch (InvalidDataException) { return null; }
        return info is not null && RayletProcess.IsRaylet(info.Pid) ? info : null;
    }

    private static async Task<(RayletAddressInfo? Info, string Failure)> WaitForAddressFileAsync(SessionLayout session, Process launched, CancellationToken cancellationToken)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < StartTimeout)
        {
            try
            {
                if (AddressFile.TryRead(session.AddressFile) is { } info) return (info, "");
            }
            catch (InvalidDataException) { /* being written: the rename makes this rare */ }
            if (launched.HasExited && launched.ExitCode != 0)
                return (null, $"the raylet exited with code {launched.ExitCode} before it was listening");
            try { await Task.Delay(25, cancellationToken).ConfigureAwait(false); }
            catch (OperationCanceledException) { return (null, "cancelled while waiting for the raylet"); }
        }
        return (null, $"the raylet did not write {session.AddressFile} within {StartTimeout.TotalSeconds:0} s");
    }

    /// <summary>--block: wait for the raylet to exit; SIGINT or SIGTERM stops it first.</summary>
    private static async Task<int> BlockAsync(SessionLayout session, RayletAddressInfo info, TextWriter output, TextWriter error)
    {
        await output.WriteLineAsync($"--block: staying in the foreground while the raylet (pid {info.Pid}) runs; Ctrl-C stops it.").ConfigureAwait(false);
        using var stop = new CancellationTokenSource();
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
        while (RayletProcess.IsAlive(info.Pid) && !stop.IsCancellationRequested)
        {
            try { await Task.Delay(200, stop.Token).ConfigureAwait(false); }
            catch (OperationCanceledException) { break; }
        }
        if (stop.IsCancellationRequested)
            return await RayletStopper.StopAsync(session, TimeSpan.FromSeconds(10), output, error).ConfigureAwait(false);
        await output.WriteLineAsync($"The raylet (pid {info.Pid}) exited; its log is {session.RayletLog}.").ConfigureAwait(false);
        return 0;
    }
}
