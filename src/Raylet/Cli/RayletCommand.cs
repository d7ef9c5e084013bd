using System.CommandLine;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Ray.Raylet.Node;
using Ray.Raylet.Session;

namespace Ray.Raylet.Cli;

/// <summary>
/// <c>ray raylet</c> (hidden): runs the node daemon in the foreground until a Shutdown message,
/// SIGTERM or SIGINT. <c>ray start</c> runs it detached with its output in the session's log.
/// </summary>
internal static partial class RayletCommand
{
    internal static Command Create()
    {
        var sessionDir = new Option<string>("--session-dir") { Description = "Session directory.", Required = true, HelpName = "DIR" };
        var node = new NodeOptions();
        var command = new Command(RayletProcess.DaemonCommand, "Run the raylet daemon in the foreground (what `ray start` runs detached).")
        {
            Hidden = true,
        };
        command.Options.Add(sessionDir);
        node.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var error = parse.InvocationConfiguration.Error;
            using var loggerFactory = LoggerFactory.Create(b => b
                .SetMinimumLevel(LogLevel.Information)
                .AddSimpleConsole(o =>
                {
                    o.SingleLine = true;
                    o.TimestampFormat = "yyyy-MM-dd HH:mm:ss.fff ";
                    o.UseUtcTimestamp = false;
                }));
            var logger = loggerFactory.CreateLogger("Ray.Raylet");
            NodeManager manager;
            try
            {
                manager = NodeManager.Start(node.ToRayletOptions(parse, parse.GetValue(sessionDir)!), loggerFactory);
            }
            catch (Exception e)
            {
                Log.StartFailed(logger, e);
                await error.WriteLineAsync($"ray raylet: failed to start: {e.Message}").ConfigureAwait(false);
                return 1;
            }
            await using (manager.ConfigureAwait(false))
            {
                using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; manager.RequestShutdown("SIGTERM"); });
                using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; manager.RequestShutdown("SIGINT"); });
                using var cancel = cancellationToken.Register(() => manager.RequestShutdown("cancelled"));
                await manager.ShutdownRequested.ConfigureAwait(false);
            }
            return 0;
        });
        return command;
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Critical, "The raylet failed to start")]
        public static partial void StartFailed(ILogger logger, Exception error);
    }
}
