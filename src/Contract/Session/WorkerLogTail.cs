using System.Text;

namespace Ray.Contract.Session;

/// <summary>
/// Reads a worker log file (<c>logs/worker-J-W.out</c> or <c>.err</c>) as it grows: each call
/// returns the whole lines (markers too when <c>raw</c>) added since the last, each with the <c>name pid=N</c> its markers
/// (<see cref="WorkerLogMarkers"/>) gave; markers themselves are consumed. The driver's log
/// forwarder and <c>ray logs</c> read the files with it.
/// </summary>
internal sealed class WorkerLogTail(string path, bool raw = false)
{
    /// <summary>One line of user output and whose it was.</summary>
    internal readonly record struct Line(string Name, string Pid, string Text)
    {
        /// <summary>The driver's prefix: <c>name pid=N</c>.</summary>
        internal string Prefix => Name + " pid=" + Pid;
    }

    private long _offset;
    private readonly StringBuilder _partial = new();
    private string _name = "worker";
    private string _pid = "?";

    /// <summary>The actor id the file's markers named so far, or null.</summary>
    internal string? ActorId { get; private set; }

    /// <summary>The worker's pid its first marker gave, or "?".</summary>
    internal string Pid => _pid;

    /// <summary>Complete lines added since the last call, each with its <c>name pid=N</c> prefix; markers are consumed.</summary>
    internal List<Line> ReadNewLines()
    {
        var lines = new List<Line>();
        using var f = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        if (f.Length < _offset) _offset = 0; // truncated: start over
        f.Seek(_offset, SeekOrigin.Begin);
        var buffer = new byte[64 * 1024];
        var decoder = Encoding.UTF8.GetDecoder();
        var chars = new char[Encoding.UTF8.GetMaxCharCount(buffer.Length)];
        int n;
        while ((n = f.Read(buffer, 0, buffer.Length)) > 0)
        {
            // Only whole lines are consumed: a line's tail may still be on its way.
            var last = Array.LastIndexOf(buffer, (byte)'\n', n - 1);
            if (last < 0)
            {
                if (n < buffer.Length) break; // wait for the rest of the line
                last = n - 1;                 // a line longer than the buffer goes in pieces
            }
            _offset += last + 1;
            var count = decoder.GetChars(buffer, 0, last + 1, chars, 0, flush: false);
            _partial.Append(chars, 0, count);
            Split(lines);
            if (last + 1 < n) f.Seek(_offset, SeekOrigin.Begin);
        }
        return lines;
    }

    private void Split(List<Line> lines)
    {
        var text = _partial.ToString();
        _partial.Clear();
        var start = 0;
        int nl;
        while ((nl = text.IndexOf('\n', start)) >= 0)
        {
            var line = text[start..nl].TrimEnd('\r');
            start = nl + 1;
            if (line.StartsWith(WorkerLogMarkers.TaskName, StringComparison.Ordinal)) _name = line[WorkerLogMarkers.TaskName.Length..];
            else if (line.StartsWith(WorkerLogMarkers.ActorName, StringComparison.Ordinal)) _name = line[WorkerLogMarkers.ActorName.Length..];
            else if (line.StartsWith(WorkerLogMarkers.Pid, StringComparison.Ordinal)) _pid = line[WorkerLogMarkers.Pid.Length..];
            else if (line.StartsWith(WorkerLogMarkers.ActorId, StringComparison.Ordinal)) ActorId = line[WorkerLogMarkers.ActorId.Length..];
            if (raw || !WorkerLogMarkers.IsMarker(line)) lines.Add(new Line(_name, _pid, line));
        }
        if (start < text.Length) _partial.Append(text, start, text.Length - start);
    }
}
