using Ray.Raylet.Session;

namespace Ray.Raylet.Cli;

/// <summary>
/// Finds the raylet a command talks to and the token it needs:
/// the address is <c>--address</c>, else the address file of an explicit <c>--session-dir</c>,
/// else <c>RAY_ADDRESS</c>, else the address file of /tmp/ray/session_latest; the token is the
/// address file's when that file names the same address, else <c>RAY_CLUSTER_TOKEN</c>.
/// </summary>
internal static class ClusterLocator
{
    /// <summary>The environment variable with a raylet's address (host:port).</summary>
    internal const string AddressVariable = "RAY_ADDRESS";

    /// <summary>The environment variable with the cluster token.</summary>
    internal const string TokenVariable = "RAY_CLUSTER_TOKEN";

    /// <summary>The address and token, or an error message.</summary>
    internal static (string? Address, string? Token, string? Error) Locate(string? address, string? sessionDir)
    {
        var session = sessionDir is null ? SessionLayout.Latest() : new SessionLayout(sessionDir);
        RayletAddressInfo? info;
        try { info = AddressFile.TryRead(session.AddressFile); }
        catch (InvalidDataException e) { return (null, null, e.Message); }
        var fromEnv = Environment.GetEnvironmentVariable(AddressVariable);
        if (string.IsNullOrWhiteSpace(fromEnv) || fromEnv == "auto") fromEnv = null;
        address ??= sessionDir is not null ? info?.Address : fromEnv ?? info?.Address;
        if (address is null)
            return (null, null, $"no raylet found: no address file at {session.AddressFile} and {AddressVariable} is not set. Start one with `ray start --head`.");
        var token = info is not null && info.Address == address ? info.Token : Environment.GetEnvironmentVariable(TokenVariable);
        if (string.IsNullOrEmpty(token))
            return (address, null, $"no cluster token for {address}: set {TokenVariable}, or pass --session-dir of that raylet (its address file holds the token).");
        return (address, token, null);
    }
}
