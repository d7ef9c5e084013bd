using System.CommandLine;
using Ray.Protocol;
using Ray.Raylet.Client;

namespace Ray.Raylet.Cli;

/// <summary><c>ray status</c>: connects to a raylet and prints its nodes, resources, workers, tasks and objects.</summary>
internal static class StatusCommand
{
    internal static Command Create()
    {
        var address = new Option<string?>("--address")
        {
            Description = "Raylet address: host:port, a session directory or its raylet.json (default: the address file of --session-dir if given, else $RAY_ADDRESS, else $TMPDIR/ray/session_latest's address file). The token is $RAY_CLUSTER_TOKEN, else the matching address file's.",
            HelpName = "ADDRESS",
        };
        var sessionDir = CliOptions.SessionDir("Session whose address file to use (default: $RAY_ADDRESS, else $TMPDIR/ray/session_latest).");
        var command = new Command("status", "Print the cluster's nodes, resources (total and used), workers, queued tasks and objects.");
        command.Options.Add(address);
        command.Options.Add(sessionDir);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            var (addr, token, problem) = ClusterLocator.Locate(parse.GetValue(address), parse.GetValue(sessionDir));
            if (problem is not null)
            {
                await error.WriteLineAsync("ray status: " + problem).ConfigureAwait(false);
                return 1;
            }
            try
            {
                await using var client = await RayletClient.ConnectAsync(addr!, token!, cancellationToken: cancellationToken).ConfigureAwait(false);
                var report = await client.GetStatusAsync(cancellationToken).ConfigureAwait(false);
                await output.WriteAsync(StatusFormatter.Format(report, addr!)).ConfigureAwait(false);
                return 0;
            }
            catch (Exception e) when (e is RayletException or TimeoutException or ProtocolException)
            {
                await error.WriteLineAsync($"ray status: {e.Message}").ConfigureAwait(false);
                return 1;
            }
        });
        return command;
    }
}
