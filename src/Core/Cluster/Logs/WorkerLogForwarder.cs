using System.Globalization;
using Ray.Contract.Session;

namespace Ray.Cluster.Logs;

/// <summary>
/// Driver side of log streaming (Ray's <c>log_to_driver</c>): tails the log files of its job's
/// workers (<c>logs/worker-J-*.out</c> and <c>.err</c> in the session directory) and prints each
/// new line to this process's stdout or stderr as <c>(name pid=123) line</c>, the name being the
/// task or actor the worker's markers say wrote it.
/// </summary>
/// <remarks>
/// Files are polled (every 100 ms) rather than pushed over the worker link: output never
/// slows a task or the link, a worker's crash output is shown too, and the same files serve
/// <c>ray logs</c>. Lines are forwarded whole; a final pass on dispose prints what is left.
/// Works when the driver runs on the head's machine (the session directory is local).
/// </remarks>
internal sealed class WorkerLogForwarder : IDisposable
{
    private static readonly TimeSpan s_period = TimeSpan.FromMilliseconds(100);
    private readonly string _logs;
    private readonly string _pattern;
    private readonly Func<TextWriter> _out;
    private readonly Func<TextWriter> _err;
    private readonly Dictionary<string, WorkerLogTail> _files = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private readonly Timer _timer;
    private bool _disposed;

    /// <summary>Forwards job <paramref name="jobId"/>'s worker logs under <paramref name="sessionDir"/> to the console.</summary>
    internal WorkerLogForwarder(string sessionDir, uint jobId, Func<TextWriter>? stdout = null, Func<TextWriter>? stderr = null)
    {
        _logs = Path.Combine(sessionDir, "logs");
        _pattern = string.Create(CultureInfo.InvariantCulture, $"worker-{jobId}-*");
        _out = stdout ?? (static () => Console.Out);
        _err = stderr ?? (static () => Console.Error);
        _timer = new Timer(static s => ((WorkerLogForwarder)s!).Poll(), this, s_period, s_period);
    }

    /// <summary>Reads every file's new lines now and prints them.</summary>
    internal void Poll()
    {
        lock (_lock)
        {
            if (_disposed) return;
            PollLocked();
        }
    }

    private void PollLocked()
    {
        string[] paths;
        try { paths = Directory.GetFiles(_logs, _pattern); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return; }
        foreach (var path in paths)
        {
            var isErr = path.EndsWith(".err", StringComparison.Ordinal);
            if (!isErr && !path.EndsWith(".out", StringComparison.Ordinal)) continue;
            if (!_files.TryGetValue(path, out var tail)) _files[path] = tail = new WorkerLogTail(path);
            var sink = isErr ? _err() : _out();
            try
            {
                foreach (var line in tail.ReadNewLines()) sink.WriteLine($"({line.Prefix}) {line.Text}");
                sink.Flush();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ObjectDisposedException) { }
        }
    }

    /// <summary>Prints what is left, then stops.</summary>
    public void Dispose()
    {
        _timer.Dispose();
        lock (_lock)
        {
            if (_disposed) return;
            PollLocked();
            _disposed = true;
        }
    }
}
