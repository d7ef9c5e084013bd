using System.CommandLine;
using Ray.Contract.Session;

namespace Ray.Raylet.Cli;

/// <summary><c>ray stop</c>: stops the raylet that <c>ray start</c> started for a session.</summary>
internal static class StopCommand
{
    internal static Command Create()
    {
        var sessionDir = CliOptions.SessionDir("Session whose raylet to stop (default: the session $RAY_ADDRESS names, else $TMPDIR/ray/session_latest).");
        var grace = new Option<int>("--grace-period")
        {
            Description = "Seconds to wait for a graceful stop (Shutdown message) before the raylet is killed.",
            DefaultValueFactory = _ => 10,
            HelpName = "SECONDS",
        };
        grace.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() < 0) r.AddError("--grace-period must be at least 0");
        });
        var command = new Command("stop", "Stop the raylet of a session: a graceful Shutdown, then a kill after the grace period; removes the address file.");
        command.Options.Add(sessionDir);
        command.Options.Add(grace);
        command.SetAction(async (parse, _) =>
        {
            var dir = parse.GetValue(sessionDir);
            var (session, problem) = ClusterLocator.LocateSession(dir);
            if (session is null)
            {
                await parse.InvocationConfiguration.Error.WriteLineAsync("ray stop: " + problem).ConfigureAwait(false);
                return 1;
            }
            // Without arguments only the latest default session is looked at: say how to name another.
            var hint = dir is null && ClusterAddress.IsAuto(Environment.GetEnvironmentVariable(ClusterLocator.AddressVariable))
                ? " A raylet started with --session-dir DIR is stopped with `ray stop --session-dir DIR` (or with RAY_ADDRESS=DIR set)."
                : "";
            return await RayletStopper.StopAsync(session, TimeSpan.FromSeconds(parse.GetValue(grace)),
                parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error, hint).ConfigureAwait(false);
        });
        return command;
    }
}
