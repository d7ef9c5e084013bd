namespace Ray.Cluster.WorkerSide;

/// <summary>
/// The generic worker host: the main of a worker process started by a raylet. It registers with
/// the raylet, listens on its own Unix socket for its job's driver, loads the job's assemblies
/// from the code paths, and runs the tasks and actor calls the driver pushes.
/// </summary>
internal static class WorkerProcess
{
    /// <summary>Runs the worker until its raylet or driver goes away; returns the exit code.</summary>
    internal static Task<int> RunAsync(WorkerLaunchOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return WorkerHost.RunAsync(options);
    }
}
