namespace Ray.Contract.Session;

/// <summary>
/// Where sessions live on this machine, one definition for the `ray` CLI, the raylet and drivers:
/// the session root is <c>$TMPDIR/ray</c> (<c>/tmp/ray</c> without TMPDIR), each default session a
/// <c>session_&lt;time&gt;_&lt;pid&gt;</c> folder in it, and <c>session_latest</c> a link to the newest.
/// </summary>
internal static class SessionPaths
{
    /// <summary>The name of the session root under the temp directory.</summary>
    internal const string RootName = "ray";

    /// <summary>The link to the newest default session.</summary>
    internal const string LatestLinkName = "session_latest";

    /// <summary>The name of the address file in a session directory.</summary>
    internal const string AddressFileName = "raylet.json";

    /// <summary>The environment variable with a raylet's address (host:port, a session directory or its address file, or "auto").</summary>
    internal const string AddressVariable = "RAY_ADDRESS";

    /// <summary>The environment variable with the cluster token.</summary>
    internal const string TokenVariable = "RAY_CLUSTER_TOKEN";

    /// <summary>The session root: <c>ray</c> under the temp directory, which honours TMPDIR.</summary>
    internal static string DefaultRoot => Path.Combine(Path.TrimEndingDirectorySeparator(Path.GetTempPath()), RootName);

    /// <summary>The latest-session link under <paramref name="root"/>.</summary>
    internal static string LatestLink(string root) => Path.Combine(root, LatestLinkName);

    /// <summary>The address file of the session directory <paramref name="sessionDir"/>.</summary>
    internal static string AddressFileOf(string sessionDir) => Path.Combine(sessionDir, AddressFileName);
}
