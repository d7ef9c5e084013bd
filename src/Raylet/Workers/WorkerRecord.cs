using Ray.Contract.Messages;
using Ray.Raylet.Jobs;
using Ray.Raylet.Node;

namespace Ray.Raylet.Workers;

/// <summary>
/// One worker process of a job. Mutable state, guarded by the <see cref="Leases.LeaseManager"/>'s
/// lock (every field but the immutable ids is read and written under it).
/// </summary>
internal sealed class WorkerRecord(uint id, JobRecord job)
{
    /// <summary>The raylet's id for this worker (unique for the raylet's life).</summary>
    internal uint Id { get; } = id;

    /// <summary>The job it belongs to; never handed to another job.</summary>
    internal JobRecord Job { get; } = job;

    internal WorkerState State { get; set; } = WorkerState.Starting;

    /// <summary>The process, once launched (null while the launch runs, or for a launch that failed).</summary>
    internal IWorkerProcess? Process { get; set; }

    /// <summary>The pid: the launcher's, then confirmed by RegisterWorker (0 until known).</summary>
    internal int Pid { get; set; }

    /// <summary>The worker's Unix socket for its driver (from RegisterWorker).</summary>
    internal string SocketPath { get; set; } = "";

    /// <summary>When it last became idle (a <see cref="System.Diagnostics.Stopwatch"/> timestamp; Idle only).</summary>
    internal long IdleSince { get; set; }

    /// <summary>The lease holding it (Leased only).</summary>
    internal ulong LeaseId { get; set; }

    /// <summary>What the lease holds (Leased only).</summary>
    internal ResourceDemand? LeaseDemand { get; set; }

    /// <summary>The lease is a detached actor's: the worker outlives its job (Leased only).</summary>
    internal bool LeaseDetached { get; set; }

    /// <summary>The worker said its actor exists (ActorCreated): only then does a detached lease outlive its job.</summary>
    internal bool ActorCreated { get; set; }

    /// <summary>A detached actor's worker that outlived its job: the objects it owns are freed when it goes, not with the job.</summary>
    internal bool KeptPastJob { get; set; }

    /// <summary>The worker's registration connection (messages the raylet passes on to it, e.g. CancelTask).</summary>
    internal Server.IFrameSink? Link { get; set; }

    /// <summary>The placement group the lease's resources come from (Leased only), or null for the node's.</summary>
    internal Leases.PlacementGroupRecord? LeaseGroup { get; set; }

    /// <summary>The bundle of <see cref="LeaseGroup"/> the lease holds its resources in.</summary>
    internal int LeaseBundle { get; set; } = -1;

    /// <summary>The node's GPUs the current lease uses.</summary>
    internal int[] GpuIds { get; set; } = [];

    /// <summary>The leased task blocked in Get: its lease's resources are lent out (not held).</summary>
    internal bool Blocked { get; set; }

    /// <summary>What the lease is for (Leased only): an actor's worker is the actor's until returned.</summary>
    internal LeasePurpose LeasePurpose { get; set; }

    /// <summary>"worker 7 (job 2, pid 1234)" for logs and errors.</summary>
    public override string ToString() => $"worker {Id} (job {Job.Id}, pid {Pid})";
}
