using System.Globalization;
using Ray.Contract.Session;

namespace Ray.Raylet.Session;

/// <summary>
/// Removes what a raylet that did not shut down cleanly (SIGKILL, a crash, a power cut) left
/// behind, for `ray stop` of a dead raylet and `ray start` over a dead one's session: its address
/// file, its object store's socket and shared-memory arena, its spilled objects' files, and its
/// workers' sockets. Only files of this user are touched, and only the exact paths the (already
/// trusted) address file names or the session's own sockets and spill folders hold: nothing
/// named by another user is ever deleted.
/// </summary>
public static class SessionLeftovers
{
    /// <summary>The arena file name prefix of a raylet's object store.</summary>
    public const string ArenaPrefix = "ray-raylet-";

    /// <summary>
    /// Removes the leftovers of the dead raylet described by <paramref name="info"/> (null: only
    /// the session's sockets). Returns the paths removed.
    /// </summary>
    public static IReadOnlyList<string> Remove(SessionLayout session, RayletAddressInfo? info)
    {
        ArgumentNullException.ThrowIfNull(session);
        var removed = new List<string>();
        TryDelete(session.AddressFile, anyType: true, removed);
        if (info is not null)
        {
            if (!string.IsNullOrEmpty(info.PlasmaSocket)) TryDelete(info.PlasmaSocket, anyType: false, removed);
            if (!string.IsNullOrEmpty(info.ObjectStorePath) && Path.GetFileName(info.ObjectStorePath).StartsWith(ArenaPrefix, StringComparison.Ordinal))
                TryDelete(info.ObjectStorePath, anyType: true, removed);
        }
        TryDelete(session.PlasmaSocket, anyType: false, removed);
        if (Directory.Exists(session.SocketsDirectory))
        {
            foreach (var socket in SafeEnumerate(session.SocketsDirectory, WorkerSocketPaths.SessionSocketPrefix + "*"))
                TryDelete(socket, anyType: false, removed);
        }
        RemoveSpillFiles(session.SpillDirectory, removed);
        RemoveDeadTempWorkerSockets(removed);
        return removed;
    }

    /// <summary>
    /// The dead store's spilled objects (<c>*.spill</c>): nobody can read them any more (their
    /// index died with the store). Only in the session's own spill directory when it is a real
    /// directory of this user (not a link), and only this user's files, links not followed.
    /// </summary>
    private static void RemoveSpillFiles(string spillDirectory, List<string> removed)
    {
        if (!SessionOwnership.TryStat(spillDirectory, followLinks: false, out var uid, out var mode)
            || uid != SessionOwnership.CurrentUid || (mode & SessionOwnership.TypeMask) != SessionOwnership.TypeDirectory) return;
        foreach (var file in SafeEnumerate(spillDirectory, "*.spill"))
            TryDelete(file, anyType: true, removed);
    }

    /// <summary>
    /// Worker sockets in the temp folder (used when the session path is too long) whose worker
    /// pid (in the name) is gone.
    /// </summary>
    private static void RemoveDeadTempWorkerSockets(List<string> removed)
    {
        var temp = Path.GetTempPath();
        foreach (var path in SafeEnumerate(temp, WorkerSocketPaths.TempSocketPrefix + "*.sock"))
        {
            var name = Path.GetFileName(path.AsSpan())[WorkerSocketPaths.TempSocketPrefix.Length..];
            var dash = name.IndexOf('-');
            if (dash <= 0 || !int.TryParse(name[..dash], NumberStyles.None, CultureInfo.InvariantCulture, out var pid)) continue;
            if (RayletProcess.IsAlive(pid)) continue;
            TryDelete(path, anyType: false, removed);
        }
    }

    /// <summary>
    /// Deletes the Unix socket a worker left at <paramref name="path"/> once the worker exited:
    /// only a socket of this user at the path the worker's ids give.
    /// </summary>
    internal static bool RemoveWorkerSocket(string path)
    {
        var removed = new List<string>(1);
        TryDelete(path, anyType: false, removed);
        return removed.Count > 0;
    }

    private static IEnumerable<string> SafeEnumerate(string dir, string pattern)
    {
        try { return Directory.GetFiles(dir, pattern); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return []; }
    }

    /// <summary>Deletes <paramref name="path"/> when it is this user's (and a socket unless <paramref name="anyType"/>).</summary>
    private static void TryDelete(string path, bool anyType, List<string> removed)
    {
        try
        {
            if (!SessionOwnership.TryStat(path, followLinks: false, out var uid, out var mode) || uid != SessionOwnership.CurrentUid) return;
            var type = mode & SessionOwnership.TypeMask;
            if (type == SessionOwnership.TypeDirectory || type == SessionOwnership.TypeLink) return;
            if (!anyType && type != SessionOwnership.TypeSocket) return;
            File.Delete(path);
            removed.Add(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }
}
