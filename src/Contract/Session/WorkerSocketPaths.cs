using System.Text;

namespace Ray.Contract.Session;

/// <summary>
/// Where a worker process listens for its drivers: one definition for the worker host, which
/// binds the socket, and the raylet, which removes the sockets its dead workers left.
/// </summary>
internal static class WorkerSocketPaths
{
    /// <summary>The file name prefix of a worker socket in the session's sockets folder.</summary>
    internal const string SessionSocketPrefix = "worker_";

    /// <summary>The file name prefix of a worker socket in the temp folder (session path too long).</summary>
    internal const string TempSocketPrefix = "ray-w-";

    /// <summary>
    /// The Unix socket of worker <paramref name="workerId"/> of job <paramref name="jobId"/>, pid
    /// <paramref name="pid"/>: <c>&lt;session&gt;/sockets/worker_J_W</c>, or <c>$TMPDIR/ray-w-PID-W.sock</c>
    /// when that path is too long for a Unix socket.
    /// </summary>
    internal static string SocketPath(string sessionDir, uint jobId, uint workerId, int pid)
    {
        var path = Path.Combine(sessionDir, "sockets", $"{SessionSocketPrefix}{jobId}_{workerId}");
        if (Encoding.UTF8.GetByteCount(path) <= 100) return path;
        return Path.Combine(Path.GetTempPath(), $"{TempSocketPrefix}{pid}-{workerId}.sock");
    }
}
