namespace Ray.Tasks;

/// <summary>
/// Where a running task executes when that is outside this process (the task submitter's
/// connection to a worker process). The task keeps it while it runs, so a thread waiting for
/// the result may poll for the reply itself, and a forced cancel can stop the execution.
/// </summary>
internal interface IExecutionSite
{
    /// <summary>A thread starts waiting for a result coming from this site (it will <see cref="Poll"/>).</summary>
    void BeginWait();

    /// <summary>Handles replies that already arrived, on the waiting thread, when nobody else is; never blocks.</summary>
    void Poll();

    /// <summary>The waiting thread stopped polling.</summary>
    void EndWait();

    /// <summary>Stops everything running there (a cancel with force): the tasks on it end as their process would on a crash.</summary>
    void Stop(string reason);

    /// <summary>Tells the running <paramref name="task"/> it was cancelled (its token there is signalled); it keeps running until it looks.</summary>
    void RequestCancel(SubmittedTask task);
}
