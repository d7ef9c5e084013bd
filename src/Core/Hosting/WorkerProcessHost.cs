using Ray.Cluster.WorkerSide;

namespace Ray.Hosting;

/// <summary>
/// The entry point of a worker process (what <c>ray worker</c> runs): the one piece of Ray.Core
/// the raylet's executable calls, so that it needs none of Core's internals.
/// </summary>
public static class WorkerProcessHost
{
    /// <summary>
    /// Runs the worker host until its raylet or driver goes away: it registers with the raylet,
    /// listens for its job's driver, loads the job's code and runs the tasks and actor calls
    /// pushed to it. Asynchronous end to end: no thread is held while it waits.
    /// </summary>
    /// <param name="options">The worker's parsed arguments.</param>
    /// <returns>The process exit code.</returns>
    public static Task<int> RunAsync(WorkerProcessOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return WorkerProcess.RunAsync(new WorkerLaunchOptions
        {
            RayletAddress = options.RayletAddress,
            Token = options.Token,
            JobId = options.JobId,
            WorkerId = options.WorkerId,
            OwnerId = options.OwnerId,
            SessionDir = options.SessionDir,
            CodePaths = options.CodePaths,
            PlasmaSocket = options.PlasmaSocket,
        });
    }
}
