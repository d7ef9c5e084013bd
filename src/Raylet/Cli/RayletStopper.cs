using Ray.Contract.Session;
using Ray.Protocol;
using Ray.Raylet.Client;
using Ray.Raylet.Session;

namespace Ray.Raylet.Cli;

/// <summary>
/// Stops the raylet of a session (for <c>ray stop</c> and <c>ray start --block</c>):
/// 1. Read the address file (refused when another user owns it or its session); no file or a dead pid means nothing to stop (stale files are removed).
/// 2. Ask for a graceful stop with a Shutdown message (SIGTERM when that fails).
/// 3. Wait up to the grace period for the pid to go; then SIGKILL.
/// 4. Remove the address file, and the sockets and shared-memory file a killed raylet leaves behind.
/// </summary>
internal static class RayletStopper
{
    internal static async Task<int> StopAsync(SessionLayout session, TimeSpan grace, TextWriter output, TextWriter error, string hint = "")
    {
        RayletAddressInfo? info;
        try { info = AddressFile.TryReadTrusted(session.AddressFile); }
        catch (Exception e) when (e is InvalidDataException or SessionAccessException)
        {
            // Another user's file is neither followed nor deleted.
            await error.WriteLineAsync($"ray stop: {e.Message}").ConfigureAwait(false);
            return 1;
        }
        if (info is null)
        {
            await output.WriteLineAsync($"No raylet is running for session {session.Directory} (no address file at {session.AddressFile}).{hint}").ConfigureAwait(false);
            return 0;
        }
        if (!RayletProcess.IsRaylet(info.Pid))
        {
            await RemoveLeftoversAsync(session, info).ConfigureAwait(false);
            await output.WriteLineAsync($"The raylet of session {session.Directory} (pid {info.Pid}) is not running; removed its stale address file.").ConfigureAwait(false);
            return 0;
        }

        var how = "gracefully";
        try
        {
            // A raylet that cannot answer (hung, stopped) must not cost more than the grace period.
            var answerTimeout = TimeSpan.FromSeconds(Math.Clamp(grace.TotalSeconds, 1, 5));
            await using var client = await RayletClient.ConnectAsync(info.Address, info.Token, answerTimeout).ConfigureAwait(false);
            await client.ShutdownAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is RayletException or TimeoutException or ProtocolException)
        {
            await output.WriteLineAsync($"Could not ask the raylet at {info.Address} to shut down ({e.Message}); sending SIGTERM to pid {info.Pid}.").ConfigureAwait(false);
            RayletProcess.Signal(info.Pid, RayletProcess.SigTerm);
            how = "after SIGTERM";
        }
        if (!await RayletProcess.WaitForExitAsync(info.Pid, grace).ConfigureAwait(false))
        {
            await output.WriteLineAsync($"The raylet (pid {info.Pid}) did not exit within {grace.TotalSeconds:0.#} s; killing it.").ConfigureAwait(false);
            if (RayletProcess.IsRaylet(info.Pid)) RayletProcess.Signal(info.Pid, RayletProcess.SigKill);
            how = "killed";
            if (!await RayletProcess.WaitForExitAsync(info.Pid, TimeSpan.FromSeconds(5)).ConfigureAwait(false))
            {
                await error.WriteLineAsync($"ray stop: the raylet (pid {info.Pid}) is still running after SIGKILL.").ConfigureAwait(false);
                return 1;
            }
        }
        await RemoveLeftoversAsync(session, info).ConfigureAwait(false);
        await output.WriteLineAsync($"Stopped the raylet (pid {info.Pid}, {how}) of session {session.Directory}.").ConfigureAwait(false);
        return 0;
    }

    /// <summary>
    /// Files a raylet that did not shut down cleanly leaves (<see cref="SessionLeftovers"/>), removed
    /// only while no raylet holds the session's lock (a new one may be starting there already).
    /// </summary>
    internal static async Task RemoveLeftoversAsync(SessionLayout session, RayletAddressInfo info)
    {
        if (!Directory.Exists(session.Directory)) return;
        using var held = await SessionLock.TryAcquireAsync(session, SessionLock.ReleaseWait).ConfigureAwait(false);
        if (held is not null) SessionLeftovers.Remove(session, info);
    }
}
