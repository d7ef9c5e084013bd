using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using System.Runtime.CompilerServices;

namespace Ray;

/// <summary>
/// Stack text without the runtime's own invocation machinery: the frames of Ray.Core's internal
/// types (task dispatch, actor executors, the worker's call loop) and of reflection are dropped,
/// so a task's stack shows the user code that threw, as Ray's tracebacks do.
/// </summary>
/// <remarks>
/// The text is <see cref="Exception.StackTrace"/> with lines removed (not rebuilt from frames),
/// so .NET's own format stays, async "End of stack trace" separators included. A line is
/// dropped when it is the formatted text of a machinery frame and of no user frame.
/// </remarks>
internal static class StackFrames
{
    private const string Separator = "--- End of stack trace from previous location ---";
    private static readonly Assembly s_core = typeof(StackFrames).Assembly;

    /// <summary>The stack of <paramref name="e"/> without machinery frames; null when it has none.</summary>
    internal static string? UserStack(Exception e)
    {
        string? text;
        try { text = e.StackTrace; } catch { return null; } // a user override may throw
        if (string.IsNullOrEmpty(text)) return text;
        StackFrame[] frames;
        try { frames = new StackTrace(e, fNeedFileInfo: true).GetFrames(); }
        catch { return text; }
        return Filter(text, frames);
    }

    /// <summary><paramref name="text"/> (a stack's text) without the lines of the machinery frames among <paramref name="frames"/>.</summary>
    internal static string? Filter(string? text, StackFrame[] frames)
    {
        if (string.IsNullOrEmpty(text)) return text;
        var drop = new HashSet<string>(StringComparer.Ordinal);
        var keep = new HashSet<string>(StringComparer.Ordinal);
        foreach (var f in frames)
        {
            string line;
            try { line = new StackTrace(f).ToString().Trim(); } catch { continue; }
            if (line.Length == 0) continue; // [StackTraceHidden]: not in the text either
            (IsMachinery(f) ? drop : keep).Add(line);
        }
        drop.ExceptWith(keep);
        if (drop.Count == 0) return text;
        var lines = new List<string>();
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            var t = line.Trim();
            if (drop.Contains(t)) continue;
            // Separators between dropped frames collapse; none at either end.
            if (t == Separator && (lines.Count == 0 || lines[^1].Trim() == Separator)) continue;
            lines.Add(line);
        }
        while (lines.Count > 0 && lines[^1].Trim() == Separator) lines.RemoveAt(lines.Count - 1);
        return string.Join(Environment.NewLine, lines);
    }

    /// <summary>
    /// True for a frame of the runtime's invocation machinery: reflection, or Ray.Core code that is
    /// not public API (a frame in a public method of a public type, such as <c>ObjectRef.Get</c>
    /// called by a task, stays: it says where user code was).
    /// </summary>
    [UnconditionalSuppressMessage("Trimming", "IL2070", Justification = "Only names and visibility are read; a method trimming removed is not on the stack.")]
    [UnconditionalSuppressMessage("Trimming", "IL2075", Justification = "Only names and visibility are read; a method trimming removed is not on the stack.")]
    [UnconditionalSuppressMessage("Trimming", "IL2026", Justification = "StackFrame.GetMethod may return null or partial metadata when trimmed: the frame is then kept (not filtered), never misread.")]
    internal static bool IsMachinery(StackFrame frame)
    {
        MethodBase? m;
        try { m = frame.GetMethod(); } catch { return false; }
        var t = m?.DeclaringType;
        if (m is null || t is null) return false;
        if (m.Name.StartsWith("InvokeStub_", StringComparison.Ordinal) || t == typeof(RuntimeMethodHandle)
            || (t.Namespace?.StartsWith("System.Reflection", StringComparison.Ordinal) ?? false))
            return true;
        if (t.Assembly != s_core) return false;
        var outer = t;
        while (outer.DeclaringType is { } parent) outer = parent;
        if (!outer.IsPublic) return true;
        if (t == outer || !t.IsDefined(typeof(CompilerGeneratedAttribute), false)) return !m.IsPublic;
        // Generated nested types: a lambda's closure is dispatch; an async or iterator body
        // (type "<Name>d__N") is judged by the method it was written as.
        var name = t.Name;
        var close = name.IndexOf(">d__", StringComparison.Ordinal);
        if (name.Length == 0 || name[0] != '<' || close < 0) return true;
        var original = name[1..close];
        foreach (var candidate in outer.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static))
            if (candidate.Name == original) return false;
        return true;
    }
}
