using System.Globalization;
using System.Text;

using Ray.Contract.Session;

namespace Ray.Cluster.Logs;

/// <summary>
/// Worker-process side of log streaming: Console.Out and Console.Error are wrapped so that
/// whenever the code writing a line belongs to another task (or actor) than the previous line,
/// a <see cref="WorkerLogMarkers.TaskName"/> marker line goes first. The output itself still
/// goes to the worker's log files unchanged; the driver owning the job tails them
/// (<see cref="WorkerLogForwarder"/>).
/// </summary>
/// <remarks>
/// 1. <see cref="Install"/> at worker start (writes the pid marker).
/// 2. <see cref="Enter"/>/<see cref="Leave"/> around user code of a task; an async body keeps the
///    name through its awaits (an AsyncLocal flows with the execution context).
/// 3. <see cref="SetActor"/> when the process becomes an actor: its lines carry the class name.
/// 4. <see cref="Failed"/> records a user error as a failure marker with task, worker and pid.
/// </remarks>
internal static class WorkerLogCapture
{
    private static readonly AsyncLocal<string?> s_task = new();
    private static string? s_actor;
    private static TaggingWriter? s_out;
    private static TaggingWriter? s_err;
    private static uint s_workerId;

    /// <summary>The name the current line belongs to: the running task's, else the actor's, else none.</summary>
    internal static string? CurrentName => s_task.Value ?? Volatile.Read(ref s_actor);

    /// <summary>Wraps Console.Out and Console.Error (once per process).</summary>
    internal static void Install(uint workerId)
    {
        if (s_out is not null) return;
        s_workerId = workerId;
        var pid = WorkerLogMarkers.Pid + Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        s_out = new TaggingWriter(Console.Out, pid);
        s_err = new TaggingWriter(Console.Error, pid);
        Console.SetOut(TextWriter.Synchronized(s_out));
        Console.SetError(TextWriter.Synchronized(s_err));
    }

    /// <summary>User code of the task <paramref name="name"/> starts on this thread (or async flow).</summary>
    internal static void Enter(string name) => s_task.Value = name;

    /// <summary>User code of the current task ended on this thread.</summary>
    internal static void Leave() => s_task.Value = null;

    /// <summary>This process holds an actor of class <paramref name="className"/> (its id if known).</summary>
    internal static void SetActor(string className, ActorId? id)
    {
        Volatile.Write(ref s_actor, className);
        if (id is { } a) s_err?.WriteMarker(WorkerLogMarkers.ActorId + a);
    }

    /// <summary>A task or call failed with a user error: one failure marker in the worker's stderr log.</summary>
    internal static void Failed(string name, Exception error)
    {
        if (s_err is null) return;
        string type = error.GetType().FullName ?? error.GetType().Name, message;
        try { message = error.Message; } catch { message = "(its Message threw)"; }
        if (Volatile.Read(ref s_actor) is { } actor) name = actor + " call " + name;
        s_err.WriteMarker(string.Create(CultureInfo.InvariantCulture,
            $"{WorkerLogMarkers.Failure}task {name} failed in worker {s_workerId} (pid {Environment.ProcessId}): {type}: {message.ReplaceLineEndings(" ")}"));
    }

    /// <summary>Writes through to the log, with a name marker before a line of another owner.</summary>
    private sealed class TaggingWriter : TextWriter
    {
        private readonly TextWriter _inner;
        private readonly Lock _lock = new();
        private bool _atLineStart = true;
        private string? _lastName;

        internal TaggingWriter(TextWriter inner, string firstMarker)
        {
            _inner = inner;
            _inner.WriteLine(firstMarker);
            _inner.Flush();
        }

        public override Encoding Encoding => _inner.Encoding;

        internal void WriteMarker(string marker)
        {
            lock (_lock)
            {
                if (!_atLineStart) _inner.WriteLine();
                _inner.WriteLine(marker);
                _atLineStart = true;
                _inner.Flush();
            }
        }

        public override void Write(char value)
        {
            lock (_lock)
            {
                BeforeText();
                _inner.Write(value);
                _atLineStart = value == '\n';
            }
        }

        public override void Write(string? value)
        {
            if (string.IsNullOrEmpty(value)) return;
            lock (_lock) WriteLines(value.AsSpan());
        }

        public override void Write(char[] buffer, int index, int count)
        {
            lock (_lock) WriteLines(buffer.AsSpan(index, count));
        }

        public override void WriteLine(string? value)
        {
            lock (_lock)
            {
                WriteLines((value ?? "").AsSpan());
                BeforeText();
                _inner.WriteLine();
                _atLineStart = true;
            }
        }

        public override void Flush()
        {
            lock (_lock) _inner.Flush();
        }

        // Each line starts with a check of whose it is; the text goes through as written.
        private void WriteLines(ReadOnlySpan<char> text)
        {
            while (!text.IsEmpty)
            {
                BeforeText();
                var nl = text.IndexOf('\n');
                var part = nl < 0 ? text : text[..(nl + 1)];
                _inner.Write(part);
                _atLineStart = nl >= 0;
                text = text[part.Length..];
            }
        }

        private void BeforeText()
        {
            if (!_atLineStart) return;
            var name = CurrentName;
            if (name is null || name == _lastName) return;
            _lastName = name;
            _inner.WriteLine((s_task.Value is null ? WorkerLogMarkers.ActorName : WorkerLogMarkers.TaskName) + name);
        }
    }
}
