namespace Ray.Raylet.Workers;

/// <summary>
/// Starts worker processes for the raylet. <see cref="WorkerProcessLauncher"/> runs the real
/// `ray worker`; tests plug in a launcher that only records what it was asked, then play the
/// workers themselves over TCP.
/// </summary>
internal interface IWorkerLauncher
{
    /// <summary>Starts one worker; returns once the process exists (not once it registered).</summary>
    /// <exception cref="Exception">The process could not be started; the raylet counts a start failure.</exception>
    IWorkerProcess Launch(WorkerLaunchRequest request);
}

/// <summary>A started worker process, as the raylet sees it.</summary>
internal interface IWorkerProcess : IDisposable
{
    /// <summary>The process id (what the worker must say in RegisterWorker).</summary>
    int Pid { get; }

    /// <summary>Completes once the process has exited and was reaped.</summary>
    Task Exited { get; }

    /// <summary>Kills the process (SIGKILL); harmless when it is already gone.</summary>
    void Kill();
}
