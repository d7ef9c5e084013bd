namespace Ray.Raylet.Session;

/// <summary>
/// The lock a raylet holds on its session directory for its whole life (an exclusive advisory
/// lock on <c>raylet.lock</c>, which .NET takes with flock for <see cref="FileShare.None"/>). The
/// kernel drops it when the process dies however it dies, so it says "a raylet is alive here"
/// without trusting a pid that may have been reused:
/// 1. the raylet takes it before it binds a socket or maps an arena, and refuses to start in a
///    session another raylet holds;
/// 2. `ray start` takes it (briefly) before removing what a dead raylet left, so it never
///    deletes the sockets of a raylet that is starting up or running there.
/// </summary>
public sealed class SessionLock : IDisposable
{
    private readonly FileStream _file;

    private SessionLock(FileStream file) => _file = file;

    /// <summary>The lock file of <paramref name="session"/>.</summary>
    public static string PathOf(SessionLayout session) => Path.Combine(session.Directory, "raylet.lock");

    /// <summary>Takes the session's lock, or returns null when a live process holds it.</summary>
    /// <exception cref="IOException">The lock file cannot be opened for another reason.</exception>
    public static SessionLock? TryAcquire(SessionLayout session)
    {
        ArgumentNullException.ThrowIfNull(session);
        var path = PathOf(session);
        try
        {
            var options = new FileStreamOptions
            {
                Mode = FileMode.OpenOrCreate,
                Access = FileAccess.ReadWrite,
                Share = FileShare.None,
            };
            if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            return new SessionLock(new FileStream(path, options));
        }
        catch (IOException e) when (e.HResult == EWouldBlock) { return null; } // flock refused: held by a live process
    }

    /// <summary>
    /// <see cref="TryAcquire(SessionLayout)"/>, trying again for up to <paramref name="wait"/>: a
    /// raylet that was just killed can look dead (its main thread a zombie) while its other
    /// threads still hold its files, and so the lock, for a moment.
    /// </summary>
    public static async Task<SessionLock?> TryAcquireAsync(SessionLayout session, TimeSpan wait)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            if (TryAcquire(session) is { } held) return held;
            if (sw.Elapsed >= wait) return null;
            await Task.Delay(20).ConfigureAwait(false);
        }
    }

    /// <summary>How long `ray start` and `ray stop` wait for a dead raylet's lock to go.</summary>
    public static readonly TimeSpan ReleaseWait = TimeSpan.FromSeconds(3);

    // .NET reports a refused flock as an IOException whose HResult is the errno.
    private const int EWouldBlock = 11;

    /// <summary>Releases the lock (the file stays, so the next raylet locks the same inode).</summary>
    public void Dispose() => _file.Dispose();
}
