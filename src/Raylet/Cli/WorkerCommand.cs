using System.CommandLine;
using Ray.Contract.Session;
using Ray.Hosting;
using Ray.Raylet.Workers;

namespace Ray.Raylet.Cli;

/// <summary>
/// <c>ray worker</c> (hidden): the main of a worker process the raylet starts for a job
/// (<see cref="WorkerProcessLauncher"/>). The cluster token comes from RAY_CLUSTER_TOKEN, never
/// the command line. Runs Ray.Core's worker host (its public <see cref="WorkerProcessHost"/>) until its raylet or driver goes away.
/// </summary>
internal static class WorkerCommand
{
    internal static Command Create()
    {
        var address = new Option<string>("--raylet-address") { Description = "The raylet's TCP address, host:port.", Required = true, HelpName = "HOST:PORT" };
        var jobId = new Option<uint>("--job-id") { Description = "The job this worker serves.", Required = true, HelpName = "J" };
        var workerId = new Option<uint>("--worker-id") { Description = "The raylet's id for this worker.", Required = true, HelpName = "W" };
        var ownerId = new Option<ulong>("--owner-id") { Description = "The owner id the raylet gave this worker (0: pick one).", HelpName = "ID" };
        var sessionDir = new Option<string>("--session-dir") { Description = "Session directory.", Required = true, HelpName = "DIR" };
        var plasma = new Option<string?>("--plasma-socket") { Description = "The node's object store socket.", HelpName = "PATH" };
        var codePaths = new Option<string[]>("--code-path")
        {
            Description = "A directory or assembly of the job's code (repeatable).",
            HelpName = "PATH",
            AllowMultipleArgumentsPerToken = false,
            DefaultValueFactory = _ => [],
        };
        var command = new Command(WorkerProcessLauncher.WorkerCommandName, "Run a worker process for a job (what the raylet starts; the token comes from RAY_CLUSTER_TOKEN).")
        {
            Hidden = true,
        };
        foreach (var o in new Option[] { address, jobId, workerId, ownerId, sessionDir, plasma, codePaths }) command.Options.Add(o);
        command.SetAction(async (parse, _) =>
        {
            var error = parse.InvocationConfiguration.Error;
            var token = Environment.GetEnvironmentVariable(SessionPaths.TokenVariable);
            if (string.IsNullOrEmpty(token))
            {
                await error.WriteLineAsync($"ray worker: {SessionPaths.TokenVariable} is not set; a worker is started by its raylet, which passes the cluster token there").ConfigureAwait(false);
                return 2;
            }
            var options = new WorkerProcessOptions
            {
                RayletAddress = parse.GetValue(address)!,
                Token = token,
                JobId = parse.GetValue(jobId),
                WorkerId = parse.GetValue(workerId),
                OwnerId = parse.GetValue(ownerId),
                SessionDir = parse.GetValue(sessionDir)!,
                PlasmaSocket = parse.GetValue(plasma),
                CodePaths = parse.GetValue(codePaths) ?? [],
            };
            try
            {
                // The worker host is async end to end: it holds no thread while the worker lives.
                return await WorkerProcessHost.RunAsync(options).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                await error.WriteLineAsync($"ray worker {options.WorkerId} (job {options.JobId}): {e}").ConfigureAwait(false);
                return 1;
            }
        });
        return command;
    }
}
