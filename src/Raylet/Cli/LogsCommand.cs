using System.CommandLine;
using System.Globalization;
using Ray.Raylet.Logs;

namespace Ray.Raylet.Cli;

/// <summary>
/// <c>ray logs</c>: the session's log files. Without arguments, lists them; <c>ray logs GLOB</c>
/// prints the one file the glob names (lists them when several); <c>ray logs worker --id W | --pid P</c>,
/// <c>ray logs actor --id ID</c> and <c>ray logs task --name NAME</c> print a worker's output, an
/// actor's worker's, or one task's lines across workers. <c>--err</c> reads stderr,
/// <c>--tail N</c> the last lines, <c>--follow</c> keeps printing new lines until Ctrl-C.
/// </summary>
internal static class LogsCommand
{
    internal static Command Create()
    {
        var sessionDir = CliOptions.SessionDir("Session whose logs to read (default: $RAY_ADDRESS's, else $TMPDIR/ray/session_latest).");
        sessionDir.Recursive = true; // `ray logs worker --session-dir DIR ...` too
        var glob = new Argument<string?>("glob") { Description = "A file name or glob under the session's logs folder (e.g. raylet.out, 'worker-1-*').", Arity = ArgumentArity.ZeroOrOne };
        var command = new Command("logs", "List or print the session's log files (raylet, workers), or one worker's, actor's or task's output.");
        command.Options.Add(sessionDir);
        command.Arguments.Add(glob);
        var (follow, tail, err, raw) = Common(command);
        command.SetAction(async (parse, cancel) =>
        {
            var output = parse.InvocationConfiguration.Output;
            if (Open(parse, sessionDir) is not { } logs) return 1;
            var files = logs.List(parse.GetValue(glob) ?? "*");
            if (parse.GetValue(glob) is null || files.Count != 1)
            {
                if (files.Count == 0) return await FailAsync(parse, $"no log file matches '{parse.GetValue(glob)}' in {logs.Directory}").ConfigureAwait(false);
                foreach (var f in files) await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"{f.Length,12}  {f.Name}")).ConfigureAwait(false);
                return 0;
            }
            await SessionLogs.PrintAsync([files[0].FullName], output, null, parse.GetValue(tail), parse.GetValue(follow), parse.GetValue(raw), cancel).ConfigureAwait(false);
            return 0;
        });
        command.Subcommands.Add(Worker(sessionDir));
        command.Subcommands.Add(Actor(sessionDir));
        command.Subcommands.Add(TaskLogs(sessionDir));
        return command;
    }

    private static (Option<bool> Follow, Option<int> Tail, Option<bool> Err, Option<bool> Raw) Common(Command c)
    {
        var follow = new Option<bool>("--follow", "-f") { Description = "Keep printing new lines until interrupted." };
        var tail = new Option<int>("--tail") { Description = "Print only the last N lines first (0: all).", HelpName = "N" };
        var err = new Option<bool>("--err") { Description = "Read the worker's stderr (.err) instead of its stdout (.out)." };
        var raw = new Option<bool>("--raw") { Description = "Keep the marker lines (:task_name:, :pid:, :failure:, ...) workers write." };
        c.Options.Add(follow);
        c.Options.Add(tail);
        c.Options.Add(err);
        c.Options.Add(raw);
        return (follow, tail, err, raw);
    }

    private static Command Worker(Option<string?> sessionDir)
    {
        var id = new Option<uint?>("--id") { Description = "Worker id (the W of worker-J-W.out; `ray list workers` shows it).", HelpName = "W" };
        var pid = new Option<int?>("--pid") { Description = "Process id of the worker.", HelpName = "PID" };
        var c = new Command("worker", "Print one worker process's output.");
        c.Options.Add(id);
        c.Options.Add(pid);
        var (follow, tail, err, raw) = Common(c);
        c.SetAction(async (parse, cancel) =>
        {
            if (Open(parse, sessionDir) is not { } logs) return 1;
            IReadOnlyList<string> files = parse.GetValue(id) is { } w ? logs.ByWorkerId(w, parse.GetValue(err))
                : parse.GetValue(pid) is { } p ? logs.ByPid(p, parse.GetValue(err))
                : [];
            if (parse.GetValue(id) is null && parse.GetValue(pid) is null) return await FailAsync(parse, "give --id W or --pid PID").ConfigureAwait(false);
            if (files.Count == 0) return await FailAsync(parse, $"no log of that worker in {logs.Directory}").ConfigureAwait(false);
            await SessionLogs.PrintAsync(files, parse.InvocationConfiguration.Output, null, parse.GetValue(tail), parse.GetValue(follow), parse.GetValue(raw), cancel).ConfigureAwait(false);
            return 0;
        });
        return c;
    }

    private static Command Actor(Option<string?> sessionDir)
    {
        var id = new Option<string>("--id") { Description = "Actor id as printed (actor-OWNER-SEQ).", HelpName = "ID", Required = true };
        var c = new Command("actor", "Print the output of the worker that holds an actor.");
        c.Options.Add(id);
        var (follow, tail, err, raw) = Common(c);
        c.SetAction(async (parse, cancel) =>
        {
            if (Open(parse, sessionDir) is not { } logs) return 1;
            var files = logs.ByActorId(parse.GetValue(id)!, parse.GetValue(err));
            if (files.Count == 0) return await FailAsync(parse, $"no worker log names actor {parse.GetValue(id)} in {logs.Directory}").ConfigureAwait(false);
            await SessionLogs.PrintAsync(files, parse.InvocationConfiguration.Output, null, parse.GetValue(tail), parse.GetValue(follow), parse.GetValue(raw), cancel).ConfigureAwait(false);
            return 0;
        });
        return c;
    }

    private static Command TaskLogs(Option<string?> sessionDir)
    {
        var name = new Option<string>("--name") { Description = "Task name as the driver shows it (e.g. Fns.Add).", HelpName = "NAME", Required = true };
        var c = new Command("task", "Print one task's output lines from every worker, prefixed (name pid=N).");
        c.Options.Add(name);
        var (follow, tail, err, _) = Common(c);
        c.SetAction(async (parse, cancel) =>
        {
            if (Open(parse, sessionDir) is not { } logs) return 1;
            await SessionLogs.PrintAsync(logs.Workers(parse.GetValue(err)), parse.InvocationConfiguration.Output, parse.GetValue(name), parse.GetValue(tail), parse.GetValue(follow), raw: false, cancel).ConfigureAwait(false);
            return 0;
        });
        return c;
    }

    private static SessionLogs? Open(ParseResult parse, Option<string?> sessionDir)
    {
        var (session, problem) = ClusterLocator.LocateSession(parse.GetValue(sessionDir));
        if (session is null)
        {
            parse.InvocationConfiguration.Error.WriteLine("ray logs: " + problem);
            return null;
        }
        return new SessionLogs(session.Directory);
    }

    private static async Task<int> FailAsync(ParseResult parse, string message)
    {
        await parse.InvocationConfiguration.Error.WriteLineAsync("ray logs: " + message).ConfigureAwait(false);
        return 1;
    }
}
