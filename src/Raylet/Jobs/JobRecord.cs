using Ray.Raylet.Leases;
using Ray.Raylet.Server;
using Ray.Raylet.Workers;

namespace Ray.Raylet.Jobs;

/// <summary>
/// One driver's job: its registration, its workers and its queue of lease requests. Mutable
/// state, guarded by the <see cref="LeaseManager"/>'s lock.
/// </summary>
internal sealed class JobRecord(uint id, int driverPid, string name, IReadOnlyList<string> codePaths, IFrameSink driver)
{
    /// <summary>The raylet's id for the job (unique for the raylet's life).</summary>
    internal uint Id { get; } = id;

    /// <summary>The driver's process id, as it said.</summary>
    internal int DriverPid { get; } = driverPid;

    /// <summary>The job's name, for logs.</summary>
    internal string Name { get; } = name;

    /// <summary>Where its workers find the job's assemblies.</summary>
    internal IReadOnlyList<string> CodePaths { get; } = codePaths;

    /// <summary>The driver's connection: lease grants and errors go there.</summary>
    internal IFrameSink Driver { get; } = driver;

    /// <summary>True once the driver's connection closed: nothing new starts for it.</summary>
    internal bool Ended { get; set; }

    /// <summary>Lease requests waiting, oldest first.</summary>
    internal LinkedList<PendingLease> Pending { get; } = new();

    /// <summary>Every live worker of the job (any state but Dead).</summary>
    internal HashSet<WorkerRecord> Workers { get; } = [];

    /// <summary>
    /// The owner ids this raylet handed to the job's driver and to every worker it started for the
    /// job: the node store's objects of those owners are the job's, freed when it ends.
    /// </summary>
    internal HashSet<ulong> Owners { get; } = [];

    /// <summary>Workers waiting for the value of an object this job's driver owns (WantObject), failed if the job ends first. Under the lease manager's lock.</summary>
    internal List<(uint WorkerId, ulong Owner, ulong Sequence)> Wants { get; } = [];

    /// <summary>Registered workers free for a lease; the most recently used first (warm caches).</summary>
    internal Stack<WorkerRecord> Idle { get; } = new();

    /// <summary>Workers kept alive while idle (its prestart count); idle ones beyond it are reaped.</summary>
    internal int KeepWarm { get; set; }

    /// <summary>Workers launched and not registered yet.</summary>
    internal int Starting { get; set; }

    /// <summary>Worker starts that failed since the last successful registration.</summary>
    internal int StartFailures { get; set; }

    /// <summary>Takes the most recently idle worker that is still idle (the stack may hold stale entries).</summary>
    internal WorkerRecord? PopIdle()
    {
        while (Idle.TryPop(out var w))
            if (w.State == WorkerState.Idle) return w;
        return null;
    }

    /// <summary>"job 3 (name, driver pid 1234)" for logs.</summary>
    public override string ToString() => $"job {Id} ('{Name}', driver pid {DriverPid})";
}
