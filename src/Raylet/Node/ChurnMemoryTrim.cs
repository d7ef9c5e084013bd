using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;

namespace Ray.Raylet.Node;

/// <summary>
/// Gives memory back after a flood of short-lived connections (thousands that never said Hello,
/// store clients that came and went). Their buffers die old (a pending connection lives up to
/// the handshake timeout, long enough to be promoted), and once the flood stops nothing
/// allocates, so no collection would ever run and the daemon would keep its peak size.
///
/// 1. Every <see cref="Period"/> it reads the churn counter (connections closed so far).
/// 2. A window with at least <see cref="QuietBelow"/> closes is a busy one: the count adds up.
/// 3. The first quiet window after at least <see cref="TrimAfter"/> closes runs one aggressive,
///    compacting full collection (which returns free regions to the OS) and asks glibc to
///    release its free heap pages. It never runs while connections are churning, nor on the
///    per-task path (the raylet is not on it).
/// </summary>
internal sealed partial class ChurnMemoryTrim : IDisposable
{
    internal static readonly TimeSpan Period = TimeSpan.FromSeconds(2);
    internal const long QuietBelow = 20;
    internal const long TrimAfter = 1000;

    private readonly Func<long> _churn;
    private readonly ILogger _logger;
    private readonly Timer _timer;
    private long _last;
    private long _sinceTrim;
    private int _running;

    internal ChurnMemoryTrim(Func<long> churn, ILogger logger)
    {
        _churn = churn;
        _logger = logger;
        _timer = new Timer(static s => ((ChurnMemoryTrim)s!).Tick(), this, Period, Period);
    }

    /// <summary>Trims run so far.</summary>
    internal int Trims { get; private set; }

    private void Tick()
    {
        if (Interlocked.Exchange(ref _running, 1) != 0) return;
        try
        {
            var total = _churn();
            var window = total - _last;
            _last = total;
            _sinceTrim += window;
            if (window >= QuietBelow || _sinceTrim < TrimAfter) return;
            var closed = _sinceTrim;
            _sinceTrim = 0;
            var before = Environment.WorkingSet;
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            TryMallocTrim();
            Trims++;
            Log.Trimmed(_logger, closed, before >> 20, Environment.WorkingSet >> 20);
        }
        catch (Exception e) { Log.TrimFailed(_logger, e.Message); }
        finally { Volatile.Write(ref _running, 0); }
    }

    private static void TryMallocTrim()
    {
        if (!OperatingSystem.IsLinux()) return;
        try { _ = MallocTrim(0); }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { /* not glibc */ }
    }

    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);

    /// <inheritdoc />
    public void Dispose() => _timer.Dispose();

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "{Closed} connections came and went; memory trimmed: working set {Before} MiB -> {After} MiB")]
        public static partial void Trimmed(ILogger logger, long closed, long before, long after);

        [LoggerMessage(2, LogLevel.Warning, "Memory trim failed: {Error}")]
        public static partial void TrimFailed(ILogger logger, string error);
    }
}
