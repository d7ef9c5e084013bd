using System.Globalization;
using Ray.Contract.Session;

namespace Ray.Raylet.Logs;

/// <summary>
/// The log files of a session (<c>logs/</c>: <c>raylet.out</c>, <c>worker-J-W.out</c> and
/// <c>.err</c>) as <c>ray logs</c> reads them: listed, found by worker id, pid or actor id (from
/// the markers workers write), and read whole or followed, with markers left out.
/// </summary>
internal sealed class SessionLogs(string sessionDir)
{
    /// <summary>The session's log folder.</summary>
    internal string Directory { get; } = Path.Combine(sessionDir, "logs");

    /// <summary>Every log file, by name.</summary>
    internal IReadOnlyList<FileInfo> List(string glob = "*")
    {
        if (!System.IO.Directory.Exists(Directory)) return [];
        return new DirectoryInfo(Directory).GetFiles(glob).OrderBy(f => f.Name, StringComparer.Ordinal).ToArray();
    }

    /// <summary>The worker files (<c>.out</c> or <c>.err</c> by <paramref name="err"/>) of worker <paramref name="workerId"/>.</summary>
    internal IReadOnlyList<string> ByWorkerId(uint workerId, bool err) =>
        List(string.Create(CultureInfo.InvariantCulture, $"worker-*-{workerId}{Ext(err)}")).Select(f => f.FullName).ToArray();

    /// <summary>The worker file of the worker process <paramref name="pid"/> (its first marker names it).</summary>
    internal IReadOnlyList<string> ByPid(int pid, bool err)
    {
        var marker = WorkerLogMarkers.Pid + pid.ToString(CultureInfo.InvariantCulture);
        return List("worker-*" + Ext(err)).Where(f => FirstLine(f.FullName) == marker).Select(f => f.FullName).ToArray();
    }

    /// <summary>The worker file of the worker that holds actor <paramref name="actorId"/> (e.g. <c>actor-1-2</c>).</summary>
    internal IReadOnlyList<string> ByActorId(string actorId, bool err)
    {
        var found = new List<string>();
        foreach (var f in List("worker-*.err"))
        {
            var tail = new WorkerLogTail(f.FullName);
            tail.ReadNewLines();
            if (tail.ActorId == actorId) found.Add(err ? f.FullName : Path.ChangeExtension(f.FullName, ".out"));
        }
        return found;
    }

    /// <summary>Every worker file (<c>.out</c> or <c>.err</c>).</summary>
    internal IReadOnlyList<string> Workers(bool err) => List("worker-*" + Ext(err)).Select(f => f.FullName).ToArray();

    private static string Ext(bool err) => err ? ".err" : ".out";

    private static string? FirstLine(string path)
    {
        try
        {
            using var s = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var r = new StreamReader(s);
            return r.ReadLine();
        }
        catch (IOException) { return null; }
    }

    /// <summary>
    /// Prints the lines of <paramref name="files"/> (those of task <paramref name="taskName"/> only,
    /// when given, prefixed <c>(name pid=N)</c>), the last <paramref name="tail"/> of them when
    /// positive; with <paramref name="follow"/>, then every new line until cancelled.
    /// </summary>
    internal static async Task PrintAsync(IReadOnlyList<string> files, TextWriter output, string? taskName, int tail, bool follow, bool raw, CancellationToken cancel)
    {
        var tails = files.Select(f => new WorkerLogTail(f, raw)).ToArray();
        var first = new List<string>();
        foreach (var t in tails) first.AddRange(Format(t.ReadNewLines(), taskName, files.Count > 1));
        foreach (var line in tail > 0 ? first.TakeLast(tail) : first) await output.WriteLineAsync(line).ConfigureAwait(false);
        await output.FlushAsync(cancel).ConfigureAwait(false);
        while (follow && !cancel.IsCancellationRequested)
        {
            try { await Task.Delay(100, cancel).ConfigureAwait(false); }
            catch (OperationCanceledException) { break; }
            foreach (var t in tails)
                foreach (var line in Format(t.ReadNewLines(), taskName, files.Count > 1))
                    await output.WriteLineAsync(line).ConfigureAwait(false);
            await output.FlushAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }

    private static IEnumerable<string> Format(List<WorkerLogTail.Line> lines, string? taskName, bool prefix)
    {
        foreach (var l in lines)
        {
            if (taskName is not null && l.Name != taskName) continue;
            yield return taskName is not null || prefix ? $"({l.Prefix}) {l.Text}" : l.Text;
        }
    }
}
