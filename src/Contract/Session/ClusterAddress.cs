using System.Text.Json;

namespace Ray.Contract.Session;

/// <summary>
/// Resolves what a driver (<c>RayRuntime.Connect</c>) and the `ray` CLI (<c>status</c>,
/// <c>stop</c>) connect to; one rule for both:
/// 1. The address: the one given, else RAY_ADDRESS, else "auto". It may be host:port, a session
///    directory, that directory's raylet.json, or "auto": the latest session under the session
///    root (<see cref="SessionPaths.DefaultRoot"/>, which honours TMPDIR).
/// 2. Every session file on the way (root, latest link, session directory, address file) passes
///    <see cref="SessionOwnership.CheckTrusted"/> before it is read: one owned by another user is
///    refused, so the token never goes to an address someone else wrote.
/// 3. The token: the one given, else RAY_CLUSTER_TOKEN, else the address file's (for a bare
///    host:port, the latest session's file when it names that address).
/// </summary>
internal static class ClusterAddress
{
    /// <summary>Resolves <paramref name="address"/> and <paramref name="token"/> (both optional) as described above.</summary>
    /// <param name="address">host:port, a session directory or address file, "auto", or null (RAY_ADDRESS, else "auto").</param>
    /// <param name="token">The token, or null.</param>
    /// <param name="root">The session root for "auto"; null: <see cref="SessionPaths.DefaultRoot"/>.</param>
    /// <exception cref="SessionAccessException">No cluster found there, an unreadable address file, or a session file that may not be trusted.</exception>
    internal static ResolvedAddress Resolve(string? address, string? token, string? root = null)
    {
        address ??= Environment.GetEnvironmentVariable(SessionPaths.AddressVariable);
        var envToken = Environment.GetEnvironmentVariable(SessionPaths.TokenVariable);
        if (string.IsNullOrEmpty(envToken)) envToken = null;
        token ??= envToken;
        var file = AddressFileFor(address, root ?? SessionPaths.DefaultRoot);
        if (file is not null)
        {
            var (fromFile, fileToken) = Read(file);
            return new ResolvedAddress(fromFile, token ?? fileToken, file);
        }
        address = address!.Trim();
        if (token is null)
        {
            // A bare host:port: the latest local session may be that raylet and know its token.
            try
            {
                var latest = LatestAddressFile(root ?? SessionPaths.DefaultRoot, mustExist: false);
                if (latest is not null && File.Exists(latest))
                {
                    var (a, t) = Read(latest);
                    if (a == address) token = t;
                }
            }
            catch (SessionAccessException) { /* unreadable or not ours: no token from there */ }
        }
        return new ResolvedAddress(address, token, null);
    }

    /// <summary>
    /// The session directory <paramref name="address"/> names (a session directory, its address
    /// file, or null/"auto" for the latest session), checked as trusted; null for host:port.
    /// </summary>
    /// <exception cref="SessionAccessException">A session file that may not be trusted.</exception>
    internal static string? SessionDirFor(string? address, string? root = null) =>
        AddressFileFor(address, root ?? SessionPaths.DefaultRoot) is { } file ? Path.GetDirectoryName(file) : null;

    /// <summary>True for null, blank and "auto": the latest local session.</summary>
    internal static bool IsAuto(string? address) => string.IsNullOrWhiteSpace(address) || address.Trim() == "auto";

    /// <summary>The address file an address names, checked; null when it is host:port.</summary>
    private static string? AddressFileFor(string? address, string root)
    {
        if (IsAuto(address)) return LatestAddressFile(root, mustExist: true);
        if (Directory.Exists(address))
        {
            var dir = Path.GetFullPath(address!);
            SessionOwnership.CheckTrusted(dir, "the session directory");
            var file = SessionPaths.AddressFileOf(dir);
            SessionOwnership.CheckTrusted(file, "the address file");
            return file;
        }
        if (File.Exists(address))
        {
            var file = Path.GetFullPath(address!);
            if (Path.GetDirectoryName(file) is { } dir) SessionOwnership.CheckTrusted(dir, "the session directory");
            SessionOwnership.CheckTrusted(file, "the address file");
            return file;
        }
        return null;
    }

    /// <summary>The latest session's address file under <paramref name="root"/>, every step checked.</summary>
    private static string? LatestAddressFile(string root, bool mustExist)
    {
        var link = SessionPaths.LatestLink(root);
        var file = SessionPaths.AddressFileOf(link);
        if (!SessionOwnership.CheckTrusted(root, "the session root") || !SessionOwnership.CheckTrusted(link, "the latest-session link"))
            return mustExist ? throw NotFound(file) : null;
        SessionOwnership.CheckTrusted(file, "the address file");
        return file;
    }

    private static SessionAccessException NotFound(string file) =>
        new($"no running cluster found: {file} does not exist. Start one with `ray start --head`; for a raylet started with --session-dir DIR, set {SessionPaths.AddressVariable}=DIR (or pass DIR: `ray status --session-dir DIR`, RayRuntime.Connect(DIR)).");

    /// <summary>The address and token in an address file (already checked).</summary>
    private static (string Address, string? Token) Read(string file)
    {
        if (!File.Exists(file)) throw NotFound(file);
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(file));
            var root = doc.RootElement;
            var address = Property(root, "address")?.GetString() ?? throw new InvalidDataException("no address");
            var token = Property(root, "token")?.GetString();
            return (address, token);
        }
        catch (Exception e) when (e is JsonException or InvalidDataException or IOException or InvalidOperationException)
        {
            throw new SessionAccessException($"cannot read the raylet address file {file}: {e.Message}", e);
        }
    }

    private static JsonElement? Property(JsonElement e, string name)
    {
        foreach (var p in e.EnumerateObject())
            if (string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase)) return p.Value;
        return null;
    }
}
