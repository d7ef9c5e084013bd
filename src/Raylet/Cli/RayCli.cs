using System.CommandLine;

namespace Ray.Raylet.Cli;

/// <summary>
/// The <c>ray</c> command line: <c>start</c>, <c>status</c>, <c>stop</c>, the hidden
/// <c>raylet</c> that <c>start</c> runs detached as the node daemon, and the hidden <c>worker</c>
/// that the daemon runs for each worker process.
/// </summary>
public static class RayCli
{
    /// <summary>The command tree.</summary>
    public static RootCommand Build()
    {
        var root = new RootCommand("Start, inspect and stop a Ray node (the raylet daemon) on this machine.");
        root.Subcommands.Add(StartCommand.Create());
        root.Subcommands.Add(StatusCommand.Create());
        root.Subcommands.Add(StopCommand.Create());
        root.Subcommands.Add(RayletCommand.Create());
        root.Subcommands.Add(WorkerCommand.Create());
        root.Subcommands.Add(LogsCommand.Create());
        return root;
    }

    /// <summary>Parses and runs <paramref name="args"/>; output goes to the given writers (default the console).</summary>
    public static Task<int> InvokeAsync(string[] args, TextWriter? output = null, TextWriter? error = null)
    {
        var config = new InvocationConfiguration
        {
            Output = output ?? Console.Out,
            Error = error ?? Console.Error,
            // The daemon and `start --block` handle SIGTERM and SIGINT themselves (a graceful
            // stop may take longer than the library's forced-exit timeout).
            ProcessTerminationTimeout = null,
        };
        return Build().Parse(args).InvokeAsync(config);
    }
}
