using Ray.Contract.Session;
using Ray.Raylet.Session;

namespace Ray.Raylet.Cli;

/// <summary>
/// Finds the raylet a command talks to and the token it needs, by the drivers' rule
/// (<see cref="ClusterAddress.Resolve"/>): <c>--address</c> (host:port, a session directory or its
/// address file), else <c>--session-dir</c>, else <c>RAY_ADDRESS</c> (the same forms), else the
/// latest session under the session root (<c>$TMPDIR/ray</c>). The token: with a host:port address
/// and <c>--session-dir</c> naming that raylet, its address file's; else RAY_CLUSTER_TOKEN, else
/// the address file's (for a bare host:port, the latest session's when it names that address).
/// Session files owned by another user are refused.
/// </summary>
internal static class ClusterLocator
{
    /// <summary>The environment variable with a raylet's address.</summary>
    internal const string AddressVariable = SessionPaths.AddressVariable;

    /// <summary>The environment variable with the cluster token.</summary>
    internal const string TokenVariable = SessionPaths.TokenVariable;

    /// <summary>The address and token, or an error message.</summary>
    internal static (string? Address, string? Token, string? Error) Locate(string? address, string? sessionDir)
    {
        try
        {
            string? sessionToken = null;
            if (sessionDir is not null)
            {
                var layout = new SessionLayout(sessionDir);
                var info = AddressFile.TryReadTrusted(layout.AddressFile);
                if (address is null)
                {
                    if (info is null)
                        return (null, null, $"no raylet found: no address file at {layout.AddressFile}. Start one with `ray start --head --session-dir {layout.Directory}`.");
                    address = layout.AddressFile;
                }
                else if (info is not null && info.Address == address.Trim()) sessionToken = info.Token;
            }
            var resolved = ClusterAddress.Resolve(address, null);
            // The token of the raylet the user named by --session-dir wins over RAY_CLUSTER_TOKEN
            // and over the latest session's, which Resolve would otherwise pick up.
            var token = sessionToken ?? resolved.Token;
            if (string.IsNullOrEmpty(token))
                return (resolved.Address, null, $"no cluster token for {resolved.Address}: set {TokenVariable}, or pass --session-dir of that raylet (its address file holds the token).");
            return (resolved.Address, token, null);
        }
        catch (InvalidDataException e) { return (null, null, e.Message); }
        catch (SessionAccessException e) { return (null, null, e.Message); }
    }

    /// <summary>
    /// The session <c>ray stop</c> acts on: <c>--session-dir</c>, else the session RAY_ADDRESS names
    /// (a session directory or address file; a host:port only when it is the latest session's), else
    /// the latest session. Returns an error message when none can be chosen or a session file may
    /// not be trusted.
    /// </summary>
    internal static (SessionLayout? Session, string? Error) LocateSession(string? sessionDir)
    {
        try
        {
            if (sessionDir is not null) return (new SessionLayout(sessionDir), null);
            var env = Environment.GetEnvironmentVariable(AddressVariable);
            var root = SessionLayout.DefaultRoot;
            if (!ClusterAddress.IsAuto(env))
            {
                if (ClusterAddress.SessionDirFor(env) is { } dir) return (new SessionLayout(dir), null);
                if (SessionOwnership.CheckTrusted(root, "the session root") && SessionOwnership.CheckTrusted(SessionPaths.LatestLink(root), "the latest-session link")
                    && AddressFile.TryReadTrusted(SessionLayout.Latest(root).AddressFile) is { } latest && latest.Address == env!.Trim())
                    return (SessionLayout.Latest(root), null);
                return (null, $"{AddressVariable}={env} is a host:port, and stopping a raylet needs its session: pass --session-dir DIR (the session `ray start` printed), or set {AddressVariable}=DIR.");
            }
            SessionOwnership.CheckTrusted(root, "the session root");
            SessionOwnership.CheckTrusted(SessionPaths.LatestLink(root), "the latest-session link");
            return (SessionLayout.Latest(root), null);
        }
        catch (InvalidDataException e) { return (null, e.Message); }
        catch (SessionAccessException e) { return (null, e.Message); }
    }
}
