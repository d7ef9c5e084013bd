using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Ray.Contract.Messages;
using Ray.Protocol;
using Ray.Raylet.Jobs;
using Ray.Raylet.Node;
using Ray.Raylet.Server;
using Ray.Raylet.Workers;

namespace Ray.Raylet.Leases;

/// <summary>
/// The raylet's jobs, worker processes and leases (Ray's worker pool and local lease manager,
/// for one node).
///
/// 1. A driver registers its job (<see cref="RegisterJob"/>): workers are prestarted for it, up
///    to the node's CPU count.
/// 2. A driver asks for a lease (<see cref="RequestLease"/>): infeasible requests are refused at
///    once; others wait in the job's FIFO queue until the node's free resources cover the head
///    AND an idle registered worker of the job exists; if none is idle, workers are started (up
///    to a node-wide cap). The grant is the reply to the request, sent whenever it happens.
/// 3. A started worker registers (<see cref="RegisterWorker"/>) and becomes idle; a returned
///    lease (<see cref="ReturnLease"/>) frees its resources and makes its worker idle again (Task
///    leases are reused; an Actor lease's worker is the actor's until returned).
/// 4. A worker whose connection closes or whose process exits is dead: its lease's resources
///    are freed and it is removed; later requests start a replacement.
/// 5. When the driver's connection closes, the job ends (<see cref="EndJob"/>): its workers are
///    killed (SIGKILL, reaped), their resources freed, its waiting requests dropped.
///
/// Thread safety: requests arrive on many connections' receive loops; one lock guards every
/// job, worker and lease (a control path: a few messages per lease, not per task). Replies are
/// queued on connections under the lock (a non-blocking channel write); process launches and
/// kills run after it is released (<see cref="Deferred"/>).
/// </summary>
internal sealed partial class LeaseManager : IAsyncDisposable
{
    /// <summary>The most lease requests one job may have waiting.</summary>
    internal const int MaxPendingPerJob = 100_000;

    private readonly object _lock = new();
    private readonly NodeResources _resources;
    private readonly GpuInstances _gpus;
    private readonly IWorkerLauncher _launcher;
    private readonly LeaseManagerOptions _options;
    private readonly ILogger _logger;
    private readonly Dictionary<uint, JobRecord> _jobs = [];
    private readonly Dictionary<uint, WorkerRecord> _workers = [];
    private readonly Dictionary<ulong, WorkerRecord> _leases = [];
    private readonly CancellationTokenSource _disposing = new();
    private uint _nextJobId;
    private uint _nextWorkerId;
    private ulong _nextLeaseId;
    private int _actorWorkers;   // workers leased to actors: not counted against the cap
    private bool _disposed;

    internal LeaseManager(NodeResources resources, IWorkerLauncher launcher, LeaseManagerOptions options, ILogger? logger = null)
    {
        _resources = resources ?? throw new ArgumentNullException(nameof(resources));
        _gpus = new GpuInstances((int)(resources.TotalUnits(NodeResources.Gpu) / ClusterProtocol.ResourceUnit));
        _launcher = launcher ?? throw new ArgumentNullException(nameof(launcher));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _logger = logger ?? NullLogger.Instance;
        var cpus = (int)(_resources.TotalUnits(NodeResources.Cpu) / ClusterProtocol.ResourceUnit);
        MaxWorkers = Math.Max(1, _options.MaxWorkers ?? Math.Max(cpus, 1) * 4);
        PrestartWorkers = Math.Clamp(_options.PrestartWorkers ?? cpus, 0, MaxWorkers);
        if (_options.IdleWorkerTimeout > TimeSpan.Zero) _ = ReapIdleLoopAsync(_options.IdleWorkerTimeout);
    }

    /// <summary>The cap on starting and alive workers (actor workers not counted).</summary>
    internal int MaxWorkers { get; }

    /// <summary>Workers started for each job when it registers.</summary>
    internal int PrestartWorkers { get; }

    /// <summary>
    /// Registers a driver's job and prestarts its workers. The driver's lease replies go to
    /// <paramref name="driver"/>.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The raylet is shutting down.</exception>
    internal JobRecord RegisterJob(JobRegistration registration, IFrameSink driver)
    {
        ArgumentNullException.ThrowIfNull(registration);
        ArgumentNullException.ThrowIfNull(driver);
        var d = new Deferred();
        JobRecord job;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            job = new JobRecord(++_nextJobId, registration.DriverPid, registration.JobName, registration.CodePaths, driver);
            _jobs.Add(job.Id, job);
            // A nested driver (inside a worker process) gets workers on demand only.
            var prestart = registration.Nested ? 0 : PrestartWorkers;
            job.KeepWarm = prestart;
            for (var i = 0; i < prestart && CanStartLocked(job, d, evict: false); i++) StartWorkerLocked(job, d);
        }
        Log.JobRegistered(_logger, job.Id, job.Name, job.DriverPid, job.CodePaths.Count, d.LaunchCount);
        Run(d);
        return job;
    }

    /// <summary>The reply to <see cref="RegisterJob"/>.</summary>
    internal JobAccepted Accepted(JobRecord job) =>
        new(job.Id, _options.NodeId, _options.PlasmaSocket, _options.SessionDir, _resources.TotalUnits());

    /// <summary>
    /// Queues a lease request of <paramref name="job"/>; the grant (or error) is sent to the
    /// job's driver with <paramref name="requestId"/>, now or later.
    /// </summary>
    internal void RequestLease(JobRecord job, ulong requestId, LeasePurpose purpose, IReadOnlyList<ResourceAmount> request, LeasePlacement? placement = null)
    {
        ArgumentNullException.ThrowIfNull(job);
        var detached = purpose == LeasePurpose.DetachedActor;
        if (detached) purpose = LeasePurpose.Actor;
        var demand = _resources.Resolve(request, out var infeasible);
        if (demand is null)
        {
            Log.Infeasible(_logger, job.Id, requestId, infeasible!);
            SendError(job, requestId, ClusterErrorCode.Infeasible, $"lease request {requestId} of job {job.Id} can never be granted on this node: {infeasible}");
            return;
        }
        var d = new Deferred();
        lock (_lock)
        {
            if (job.Ended) return; // the driver is gone: nobody to answer
            if (job.Pending.Count >= MaxPendingPerJob)
            {
                SendError(job, requestId, ClusterErrorCode.Internal, $"job {job.Id} already has {MaxPendingPerJob} lease requests waiting");
                return;
            }
            PlacementGroupRecord? group = null;
            var bundle = -1;
            if (placement is { } p && !TryPlaceLocked(job, requestId, p, demand, out group, out bundle)) return;
            job.Pending.AddLast(new PendingLease(requestId, purpose, demand, group, bundle, detached));
            ScheduleLocked(job, d);
        }
        Run(d);
    }

    /// <summary>
    /// Gives a lease of <paramref name="job"/> back: its resources are freed and its worker is idle
    /// again, or killed when <paramref name="workerBroken"/>. Unknown ids (or another job's) are ignored.
    /// </summary>
    internal void ReturnLease(JobRecord job, ulong leaseId, bool workerBroken)
    {
        ArgumentNullException.ThrowIfNull(job);
        var d = new Deferred();
        lock (_lock)
        {
            if (!_leases.TryGetValue(leaseId, out var worker) || worker.Job != job) return;
            if (workerBroken)
            {
                RemoveWorkerLocked(worker, d);
                Log.WorkerKilled(_logger, worker.Id, job.Id, worker.Pid, "its lease was returned as broken");
            }
            else
            {
                ReleaseLeaseLocked(worker);
                MakeIdleLocked(worker);
            }
            ScheduleAllLocked(d);
        }
        Run(d);
    }

    /// <summary>
    /// Ends a job (its driver's connection closed): kills its workers, frees their leases and
    /// drops its waiting requests. Idempotent.
    /// </summary>
    internal void EndJob(JobRecord job, string reason)
    {
        ArgumentNullException.ThrowIfNull(job);
        var d = new Deferred();
        int workers, pending;
        List<(IFrameSink Link, ulong Owner, ulong Sequence)>? orphaned;
        lock (_lock)
        {
            if (job.Ended) return;
            job.Ended = true;
            _jobs.Remove(job.Id);
            workers = job.Workers.Count;
            pending = job.Pending.Count;
            orphaned = DropOwnerLocked(job); // before its workers go: they may be the ones waiting
            foreach (var w in job.Workers.ToList())
            {
                if (w.State == WorkerState.Leased && w.LeaseDetached && w.ActorCreated)
                {
                    // A detached actor's: it outlives the job, and so do the objects it owns (freed when it goes).
                    w.KeptPastJob = true;
                    lock (job.Owners) job.Owners.Remove(WorkerOwner(w));
                    continue;
                }
                RemoveWorkerLocked(w, d);
            }
            job.Pending.Clear();
            RemoveJobGroupsLocked(job, d); // detached groups stay
            RemoveJobActorNamesLocked(job);
            ScheduleAllLocked(d); // what the job held may let others in
        }
        if (orphaned is not null)
            foreach (var (link, owner, sequence) in orphaned) SendOwnerGone(link, owner, sequence, $"its owner (job {job.Id}'s driver) is gone ({reason})");
        Log.JobEnded(_logger, job.Id, reason, workers, pending);
        Run(d);
        try { JobEnded?.Invoke(job); }
        catch (Exception e) { Log.JobCleanupFailed(_logger, job.Id, e); }
    }

    /// <summary>Raised once per job after it ended (its workers are gone): the node frees the job's objects.</summary>
    internal event Action<JobRecord>? JobEnded;

    /// <summary>Counts for <c>ray status</c>.</summary>
    internal LeaseCounts Counts()
    {
        lock (_lock)
        {
            var idle = 0;
            foreach (var w in _workers.Values) if (w.State == WorkerState.Idle) idle++;
            var queued = 0;
            foreach (var j in _jobs.Values) queued += j.Pending.Count;
            return new LeaseCounts(_jobs.Count, _workers.Count, idle, queued, _leases.Count);
        }
    }

    // ---- scheduling (under the lock) ----

    /// <summary>
    /// Grants the job's waiting requests that fit, oldest first, while idle workers last; starts
    /// workers when none is idle. A request that does not fit now does not hold back later ones
    /// that do (as Ray's scheduler: a pending 0.7-CPU actor does not block a 0.3-CPU one).
    /// </summary>
    private void ScheduleLocked(JobRecord job, Deferred d)
    {
        if (job.Ended) return;
        for (var node = job.Pending.First; node is not null;)
        {
            var next = node.Next;
            var request = node.Value;
            if (CanAcquireLocked(request))
            {
                var worker = job.PopIdle();
                if (worker is null)
                {
                    // Start as many as there are requests no starting worker will serve, within the cap.
                    for (var wanted = job.Pending.Count - job.Starting; wanted > 0 && CanStartLocked(job, d); wanted--)
                        StartWorkerLocked(job, d);
                    return;
                }
                if (!TryAcquireLocked(request, out var bundle))
                {
                    job.Idle.Push(worker);
                    return;
                }
                job.Pending.Remove(node);
                worker.LeaseGroup = request.Group;
                worker.LeaseBundle = bundle;
                worker.LeaseDetached = request.Detached;
                GrantLocked(job, worker, request);
            }
            node = next;
        }
    }

    private void ScheduleAllLocked(Deferred d)
    {
        ReservePendingGroupsLocked(); // groups waiting for resources come first, oldest first
        foreach (var job in _jobs.Values) ScheduleLocked(job, d);
    }

    private void GrantLocked(JobRecord job, WorkerRecord worker, PendingLease request)
    {
        var leaseId = ++_nextLeaseId;
        worker.State = WorkerState.Leased;
        worker.LeaseId = leaseId;
        worker.LeaseDemand = request.Demand;
        worker.LeasePurpose = request.Purpose;
        if (request.Purpose == LeasePurpose.Actor) _actorWorkers++;
        _leases.Add(leaseId, worker);
        worker.GpuIds = _gpus.Assign(request.Demand.UnitsOf(NodeResources.Gpu));
        var payload = ClusterCodec.EncodeLeaseGrant(new LeaseGrant(leaseId, worker.Id, worker.Pid, worker.SocketPath) { GpuIds = worker.GpuIds });
        job.Driver.Send((ushort)ClusterMessageKind.RequestLease, FrameFlags.Reply, request.RequestId, payload);
        if (_logger.IsEnabled(LogLevel.Debug))
            Log.LeaseGranted(_logger, leaseId, job.Id, worker.Id, request.Demand.ToString(), request.Purpose.ToString());
    }

    /// <summary>
    /// The task on <paramref name="worker"/> blocked in Get (nested tasks) or runs again: while
    /// blocked, its lease's resources are free for others (children first of all); on resume
    /// they are taken back even if that oversubscribes for a moment, as Ray does.
    /// </summary>
    internal void WorkerBlocked(WorkerRecord worker, bool blocked)
    {
        ArgumentNullException.ThrowIfNull(worker);
        var d = new Deferred();
        lock (_lock)
        {
            if (worker.State != WorkerState.Leased || worker.LeaseDemand is not { } demand || worker.Blocked == blocked) return;
            worker.Blocked = blocked;
            if (blocked)
            {
                if (worker.LeaseGroup is { } g) _resources.Release(g.Bundles, worker.LeaseBundle, demand);
                else _resources.Release(demand);
                ScheduleAllLocked(d);
            }
            else if (worker.LeaseGroup is { } g) _resources.ForceAcquire(g.Bundles, worker.LeaseBundle, demand);
            else _resources.ForceAcquire(demand);
        }
        Run(d);
    }

    private void ReleaseLeaseLocked(WorkerRecord worker)
    {
        _leases.Remove(worker.LeaseId);
        if (worker.LeaseDemand is { } demand && !worker.Blocked)
        {
            if (worker.LeaseGroup is { } g) _resources.Release(g.Bundles, worker.LeaseBundle, demand);
            else _resources.Release(demand);
        }
        worker.LeaseGroup = null;
        worker.LeaseBundle = -1;
        worker.LeaseDetached = false;
        worker.ActorCreated = false;
        worker.Blocked = false;
        _gpus.Release(worker.GpuIds);
        worker.GpuIds = [];
        if (worker.LeasePurpose == LeasePurpose.Actor) _actorWorkers--;
        worker.LeaseId = 0;
        worker.LeaseDemand = null;
        worker.LeasePurpose = LeasePurpose.Task;
    }

    private static void SendError(JobRecord job, ulong requestId, ClusterErrorCode code, string message) =>
        ReplyError(job.Driver, ClusterMessageKind.RequestLease, requestId, code, message);

    /// <summary>Kills every worker and waits (bounded) for them to exit; later registrations are refused.</summary>
    public async ValueTask DisposeAsync()
    {
        var d = new Deferred();
        List<IWorkerProcess> processes;
        lock (_lock)
        {
            if (_disposed) return;
            _disposed = true;
            foreach (var job in _jobs.Values)
            {
                job.Ended = true;
                job.Pending.Clear();
            }
            _jobs.Clear();
            foreach (var w in _workers.Values.ToList()) RemoveWorkerLocked(w, d);
            processes = d.Kills ?? []; // the removal queued every live process's kill
        }
        await _disposing.CancelAsync().ConfigureAwait(false);
        Run(d);
        try { await Task.WhenAll(processes.Select(p => p.Exited)).WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false); }
        catch (TimeoutException) { Log.SlowWorkerExit(_logger, processes.Count(p => !p.Exited.IsCompleted)); }
        // _disposing is not disposed: a launch decided just before may still read its token.
    }
}

/// <summary>What <c>ray status</c> shows of the worker pool.</summary>
internal readonly record struct LeaseCounts(int Jobs, int Workers, int IdleWorkers, int QueuedLeases, int Leases);
