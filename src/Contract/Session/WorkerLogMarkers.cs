namespace Ray.Contract.Session;

/// <summary>
/// The marker lines a worker process writes into its log files (<c>logs/worker-J-W.out</c> and
/// <c>.err</c>) so readers can tell whose output follows, as Ray's log monitor reads
/// <c>:task_name:</c> and <c>:actor_name:</c> lines. Markers are not user output: the driver's
/// forwarder and <c>ray logs</c> (unless asked for raw text) leave them out.
/// </summary>
internal static class WorkerLogMarkers
{
    /// <summary>Output after this line comes from the task named after it.</summary>
    internal const string TaskName = ":task_name:";

    /// <summary>Output after this line comes from the actor (class name) named after it.</summary>
    internal const string ActorName = ":actor_name:";

    /// <summary>The actor id this worker holds (written once it is known).</summary>
    internal const string ActorId = ":actor_id:";

    /// <summary>The worker's process id (the first line of each file).</summary>
    internal const string Pid = ":pid:";

    /// <summary>A task or actor call failed in this worker: name, worker, pid, exception type and message.</summary>
    internal const string Failure = ":failure:";

    /// <summary>True for a marker line (any of the above).</summary>
    internal static bool IsMarker(string line) =>
        line.StartsWith(TaskName, StringComparison.Ordinal) || line.StartsWith(ActorName, StringComparison.Ordinal)
        || line.StartsWith(ActorId, StringComparison.Ordinal) || line.StartsWith(Pid, StringComparison.Ordinal)
        || line.StartsWith(Failure, StringComparison.Ordinal);
}
