using Ray.Scheduling;

namespace Ray.Workers;

/// <summary>
/// The seam between the scheduler and whatever runs tasks. Embedded mode plugs in
/// <see cref="InProcessWorkerPool"/> (threads); the raylet plugs in worker processes. Workers
/// pull leases from the scheduler; the scheduler only tells the pool that work arrived.
/// </summary>
internal interface IWorkerPool : IDisposable
{
    /// <summary>Work was queued on <paramref name="cls"/> (null: on some class, or resources were freed): wake (or start) a worker to take a lease.</summary>
    void NotifyWork(SchedulingClass? cls = null);

    /// <summary>A worker inside a task blocked in Get; its resources went back to the scheduler.</summary>
    void OnWorkerBlocked();

    /// <summary>The blocked worker resumed.</summary>
    void OnWorkerUnblocked();

    /// <summary>Workers started.</summary>
    int WorkerCount { get; }

    /// <summary>Workers blocked in Get now.</summary>
    int BlockedCount { get; }
}
