using System.CommandLine;
using System.Diagnostics;
using System.Runtime.InteropServices;
using Ray.Contract.Session;
using Ray.Protocol;
using Ray.Raylet.Client;
using Ray.Raylet.Session;

namespace Ray.Raylet.Cli;

/// <summary>
/// <c>ray start --head</c>:
/// 1. Validate the options here, so mistakes are reported before anything starts.
/// 2. Pick the session directory (a fresh one linked from session_latest, or --session-dir),
///    refusing a root, link or directory another user owns or may write to; refuse when a raylet
///    of that session is already running; remove what a dead one left (arena, sockets).
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
        var sessionDir = CliOptions.SessionDir("Session directory for the address file, logs and sockets (default: a new $TMPDIR/ray/session_<time>_<pid>, linked from $TMPDIR/ray/session_latest; TMPDIR defaults to /tmp).");
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
                SessionLayout? previous;
                if (dir is null)
                {
                    // The root and its latest link must be this user's before anything in them is read.
                    var root = SessionOwnership.EnsureRoot(SessionLayout.DefaultRoot);
                    SessionOwnership.CheckTrusted(SessionPaths.LatestLink(root), "the latest-session link");
                    previous = SessionLayout.Latest(root);
                }
                else previous = new SessionLayout(dir).EnsureCreated();
                var (running, dead) = Previous(previous);
                if (running is not null)
                {
                    await error.WriteLineAsync(dir is null
                        ? $"ray start: a raylet is already running at {running.Address} (pid {running.Pid}) for session {running.SessionDir}; run `ray stop` first, or pass --session-dir for a second one."
                        : $"ray start: a raylet is already running at {running.Address} (pid {running.Pid}) for session {previous.Directory}; run `ray stop --session-dir {previous.Directory}` first.").ConfigureAwait(false);
                    return 1;
                }
                if (dead is not null || dir is not null)
                {
                    // Cleaning up is safe only while no raylet lives in the session: one that is
                    // starting (no address file yet) or whose pid we misjudged holds its lock.
                    using var held = dead is not null ? await SessionLock.TryAcquireAsync(previous, SessionLock.ReleaseWait).ConfigureAwait(false) : SessionLock.TryAcquire(previous);
                    if (held is null)
                    {
                        await error.WriteLineAsync($"ray start: a raylet is starting or running in session {previous.Directory} (it holds {SessionLock.PathOf(previous)}); run `ray stop --session-dir {previous.Directory}` first.").ConfigureAwait(false);
                        return 1;
                    }
                    if (dead is not null)
                    {
                        // A raylet of this session died without stopping (SIGKILL, crash): its store's
                        // shared memory, sockets and its workers' sockets are still there.
                        var removed = SessionLeftovers.Remove(previous, dead);
                        await output.WriteLineAsync($"The previous raylet of session {dead.SessionDir} (pid {dead.Pid}) is not running; removed {removed.Count} file(s) it left.").ConfigureAwait(false);
                    }
                    else SessionLeftovers.Remove(previous, null); // sockets of a raylet that died before writing its address file
                }
                session = dir is null ? SessionLayout.CreateNew(SessionLayout.DefaultRoot) : previous;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException or SessionAccessException)
            {
                await error.WriteLineAsync($"ray start: cannot prepare the session directory: {e.Message}").ConfigureAwait(false);
                return 1;
            }

            // 3. launch
            var args = node.ToDaemonArgs(parse, session.Directory);
            string? joinToken = null;
            if (parse.GetValue(node.JoinAddress) is { } join)
            {
                // Joining: the head's host:port and token (RAY_CLUSTER_TOKEN, or the head's address file when given a session or file).
                var (headAddress, token, locateError) = ClusterLocator.Locate(join, null);
                if (locateError is not null || headAddress is null || string.IsNullOrEmpty(token))
                {
                    await error.WriteLineAsync($"ray start: cannot join {join}: {locateError ?? "no cluster token (set RAY_CLUSTER_TOKEN, or pass the head's session directory)"}").ConfigureAwait(false);
                    return 1;
                }
                args.AddRange(["--address", headAddress]);
                joinToken = token;
            }
            Process launched;
            try { launched = RayletProcess.StartDetached(args, session.RayletLog, session.Directory, joinToken); }
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
            var custom = parse.GetValue(sessionDir) is not null;
            await output.WriteLineAsync($"""
                Started the raylet (pid {info.Pid}, node {info.NodeId}).
                  Address:      {info.Address}
                  Session:      {session.Directory}
                  Address file: {session.AddressFile} (holds the cluster token; mode 0600)
                  Object store: {info.PlasmaSocket} ({info.ObjectStorePath})
                  Log:          {session.RayletLog}

                To connect a driver, `ray status` or `ray stop` from this machine, set:
                  export RAY_ADDRESS={session.Directory}
                (the address and the cluster token are read from {session.AddressFile}; it must stay
                yours). With the address alone: RAY_ADDRESS={info.Address} and RAY_CLUSTER_TOKEN set
                to the "token" field of that file.

                {(custom ? $"Without RAY_ADDRESS, pass --session-dir {session.Directory} to `ray status` and `ray stop`." : "`ray status` shows the node; `ray stop` stops it (no arguments needed).")}
                """).ConfigureAwait(false);
            if (parse.GetValue(block)) return await BlockAsync(session, info, output, error).ConfigureAwait(false);
            return 0;
        });
        return command;
    }

    /// <summary>
    /// The raylet <paramref name="session"/>'s address file names: running, or dead (its file is
    /// stale); both null without a (valid) file. The file must be this user's (<see cref="AddressFile.TryReadTrusted"/>).
    /// </summary>
    private static (RayletAddressInfo? Running, RayletAddressInfo? Dead) Previous(SessionLayout session)
    {
        RayletAddressInfo? info;
        try { info = AddressFile.TryReadTrusted(session.AddressFile); }
        catch (InvalidDataException) { return (null, null); }
        if (info is null) return (null, null);
        return RayletProcess.IsRaylet(info.Pid) ? (info, null) : (null, info);
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
