using System.Globalization;
using System.Runtime.InteropServices;
using Ray.Contract.Session;

namespace Ray.Raylet.Session;

/// <summary>
/// Where a session keeps its files, following Ray's layout:
/// <code>
/// &lt;session&gt;/raylet.json            the address file (address, token, pid, paths; mode 0600)
/// &lt;session&gt;/logs/raylet.out        the daemon's stdout and stderr
/// &lt;session&gt;/sockets/plasma_store   the object store's Unix socket
/// &lt;session&gt;/spill/                 objects spilled by the store
/// </code>
/// Without <c>--session-dir</c>, sessions are <c>$TMPDIR/ray/session_&lt;time&gt;_&lt;pid&gt;</c> (TMPDIR
/// defaults to /tmp) and <c>$TMPDIR/ray/session_latest</c> links to the newest, as in Ray; drivers
/// find them the same way (Ray.Contract.Session.SessionPaths). Folders are created private (0700),
/// and the root, the link and a session directory are refused when another user owns them or
/// may write to them (Ray.Contract.Session.SessionOwnership).
/// </summary>
public sealed partial class SessionLayout
{
    /// <summary>The name of the address file in a session directory.</summary>
    public const string AddressFileName = SessionPaths.AddressFileName;

    /// <summary>The folder of default sessions: <c>ray</c> under the temp directory (honouring TMPDIR).</summary>
    public static string DefaultRoot => SessionPaths.DefaultRoot;

    /// <summary>The link to the newest default session.</summary>
    public const string LatestLinkName = SessionPaths.LatestLinkName;

    /// <summary>The layout of <paramref name="directory"/> (made absolute; nothing is created).</summary>
    public SessionLayout(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        Directory = Path.GetFullPath(directory);
    }

    /// <summary>The session directory.</summary>
    public string Directory { get; }

    /// <summary>The address file.</summary>
    public string AddressFile => Path.Combine(Directory, AddressFileName);

    /// <summary>The log folder.</summary>
    public string LogsDirectory => Path.Combine(Directory, "logs");

    /// <summary>The daemon's log (stdout and stderr).</summary>
    public string RayletLog => Path.Combine(LogsDirectory, "raylet.out");

    /// <summary>The socket folder.</summary>
    public string SocketsDirectory => Path.Combine(Directory, "sockets");

    /// <summary>The object store's socket (unless too long for a Unix socket path; see NodeManager).</summary>
    public string PlasmaSocket => Path.Combine(SocketsDirectory, "plasma_store");

    /// <summary>The folder for spilled objects.</summary>
    public string SpillDirectory => Path.Combine(Directory, "spill");

    /// <summary>The default session: what <c>session_latest</c> under <paramref name="root"/> (default <see cref="DefaultRoot"/>) points to.</summary>
    public static SessionLayout Latest(string? root = null) => new(Path.Combine(root ?? DefaultRoot, LatestLinkName));

    /// <summary>
    /// Checks the session directory may be trusted (when it exists) and creates its folders,
    /// private to the user (0700).
    /// </summary>
    /// <exception cref="SessionAccessException">The directory belongs to another user or others may write to it.</exception>
    public SessionLayout EnsureCreated()
    {
        SessionOwnership.CheckTrusted(Directory, "the session directory");
        SessionOwnership.CreatePrivateDirectory(Directory);
        SessionOwnership.CheckTrusted(Directory, "the session directory"); // created by someone else meanwhile
        SessionOwnership.CreatePrivateDirectory(LogsDirectory);
        SessionOwnership.CreatePrivateDirectory(SocketsDirectory);
        return this;
    }

    /// <summary>
    /// Creates a fresh timestamped session under <paramref name="root"/> and points the
    /// <c>session_latest</c> link at it (replaced atomically by a rename). The root is created
    /// private (0700) when missing, and refused when another user owns it or may write to it.
    /// </summary>
    /// <exception cref="SessionAccessException">The root may not be trusted.</exception>
    public static SessionLayout CreateNew(string? root = null)
    {
        root = SessionOwnership.EnsureRoot(root ?? DefaultRoot);
        var name = "session_" + DateTime.Now.ToString("yyyy-MM-dd_HH-mm-ss_ffffff", CultureInfo.InvariantCulture) + "_" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        var layout = new SessionLayout(Path.Combine(root, name)).EnsureCreated();
        var link = Path.Combine(root, LatestLinkName);
        var temp = link + ".tmp-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        if (File.Exists(temp) || System.IO.Directory.Exists(temp)) File.Delete(temp);
        File.CreateSymbolicLink(temp, layout.Directory);
        // rename(2) replaces the old link atomically; File.Move would follow the link to a directory.
        if (Rename(temp, link) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            File.Delete(temp);
            throw new IOException($"cannot point {link} at {layout.Directory}: {Marshal.GetPInvokeErrorMessage(errno)}");
        }
        return layout;
    }

    [LibraryImport("libc", EntryPoint = "rename", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Rename(string oldPath, string newPath);
}
