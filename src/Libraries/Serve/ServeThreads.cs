namespace Ray.Serve;

/// <summary>
/// Deployment code runs on the thread pool (as Ray runs sync methods in a thread pool). On a
/// small machine the pool starts with one thread per core and adds about one per half second,
/// so a few blocking requests would stall everything: Serve raises the pool's minimum once.
/// </summary>
internal static class ServeThreads
{
    private const int Minimum = 64;
    private static int s_done;

    internal static void EnsureMinimum()
    {
        if (Interlocked.Exchange(ref s_done, 1) == 1) return;
        ThreadPool.GetMinThreads(out var worker, out var io);
        if (worker < Minimum) ThreadPool.SetMinThreads(Minimum, Math.Max(io, Minimum));
    }
}
