using System.Globalization;
using Ray.Contract.Messages;
using Ray.Raylet.Jobs;
using Ray.Raylet.Workers;

namespace Ray.Raylet.Leases;

internal sealed partial class LeaseManager
{
    /// <summary>
    /// Records a worker process that says it is worker <c>WorkerId</c> of job <c>JobId</c> as idle
    /// and ready, and grants waiting requests to it.
    /// </summary>
    /// <exception cref="WorkerRefusedException">Unknown job or worker id, a pid that is not the launched one, or a second registration.</exception>
    internal WorkerRecord RegisterWorker(WorkerRegistration registration)
    {
        ArgumentNullException.ThrowIfNull(registration);
        var d = new Deferred();
        WorkerRecord worker;
        lock (_lock)
        {
            if (!_jobs.TryGetValue(registration.JobId, out var job))
                throw new WorkerRefusedException(ClusterErrorCode.NoJob, $"worker {registration.WorkerId} (pid {registration.Pid}) registers for job {registration.JobId}, which is not running on this raylet");
            if (!_workers.TryGetValue(registration.WorkerId, out worker!) || worker.Job != job)
                throw new WorkerRefusedException(ClusterErrorCode.ProtocolError, $"worker {registration.WorkerId} (pid {registration.Pid}) of job {registration.JobId} was not started by this raylet");
            if (worker.State != WorkerState.Starting)
                throw new WorkerRefusedException(ClusterErrorCode.ProtocolError, $"{worker} registered already");
            if (worker.Pid != 0 && worker.Pid != registration.Pid)
                throw new WorkerRefusedException(ClusterErrorCode.ProtocolError, $"worker {worker.Id} of job {job.Id} was started as pid {worker.Pid}, but pid {registration.Pid} registers as it");
            worker.Pid = registration.Pid;
            worker.SocketPath = registration.SocketPath;
            job.Starting--;
            job.StartFailures = 0;
            MakeIdleLocked(worker);
            ScheduleLocked(job, d);
        }
        Log.WorkerRegistered(_logger, worker.Id, worker.Job.Id, worker.Pid, worker.SocketPath);
        Run(d);
        return worker;
    }

    private static void MakeIdleLocked(WorkerRecord worker)
    {
        worker.State = WorkerState.Idle;
        worker.IdleSince = System.Diagnostics.Stopwatch.GetTimestamp();
        worker.Job.Idle.Push(worker);
    }

    /// <summary>
    /// Kills the workers idle for at least the idle timeout at <paramref name="now"/> (a
    /// Stopwatch timestamp) while their job has more task workers (idle or leased for tasks) than
    /// it keeps warm, oldest idle first; actors' and starting workers are not counted. Returns how
    /// many were killed.
    /// </summary>
    internal int ReapIdleWorkers(long now)
    {
        var d = new Deferred();
        var reaped = 0;
        lock (_lock)
        {
            if (_disposed) return 0;
            var timeout = (long)(_options.IdleWorkerTimeout.TotalSeconds * System.Diagnostics.Stopwatch.Frequency);
            foreach (var job in _jobs.Values)
            {
                var live = 0;
                List<WorkerRecord>? stale = null;
                foreach (var w in job.Workers)
                {
                    // Only workers that serve tasks count: actors' are their own, and a starting
                    // one may be for an actor (it counts once it registered and took a task).
                    if (w.State is not (WorkerState.Idle or WorkerState.Leased)) continue;
                    if (w.State == WorkerState.Leased && w.LeasePurpose == LeasePurpose.Actor) continue;
                    live++;
                    if (w.State == WorkerState.Idle && now - w.IdleSince >= timeout) (stale ??= []).Add(w);
                }
                if (stale is null || live <= job.KeepWarm) continue;
                stale.Sort((a, b) => a.IdleSince.CompareTo(b.IdleSince));
                for (var i = 0; i < stale.Count && live > job.KeepWarm; i++, live--, reaped++)
                {
                    var w = stale[i];
                    RemoveWorkerLocked(w, d);
                    var idleMs = (now - w.IdleSince) * 1000 / System.Diagnostics.Stopwatch.Frequency;
                    Log.WorkerKilled(_logger, w.Id, job.Id, w.Pid, $"idle for {idleMs} ms while its job has more than the {job.KeepWarm} workers it keeps warm");
                }
            }
        }
        Run(d);
        return reaped;
    }

    private async Task ReapIdleLoopAsync(TimeSpan timeout)
    {
        // Checks twice per timeout, so a worker is killed between 1 and 1.5 timeouts after it went idle.
        using var timer = new PeriodicTimer(TimeSpan.FromTicks(Math.Max(timeout.Ticks / 2, TimeSpan.FromMilliseconds(50).Ticks)));
        try
        {
            while (await timer.WaitForNextTickAsync(_disposing.Token).ConfigureAwait(false))
            {
                try { ReapIdleWorkers(System.Diagnostics.Stopwatch.GetTimestamp()); }
                catch (Exception e) { Log.ReapFailed(_logger, e); }
            }
        }
        catch (OperationCanceledException) { /* the raylet is stopping */ }
    }

    /// <summary>A worker's raylet connection closed: the worker is dead (killed if its process lingers).</summary>
    internal void WorkerDisconnected(WorkerRecord worker, string reason) => WorkerGone(worker, "its connection closed: " + reason);

    private void WorkerGone(WorkerRecord worker, string reason)
    {
        var d = new Deferred();
        lock (_lock)
        {
            if (worker.State == WorkerState.Dead) return;
            if (worker.State == WorkerState.Starting)
            {
                StartFailedLocked(worker, reason, d);
            }
            else
            {
                var leased = worker.State == WorkerState.Leased ? worker.LeaseId : 0;
                RemoveWorkerLocked(worker, d);
                Log.WorkerDied(_logger, worker.Id, worker.Job.Id, worker.Pid, leased, reason);
                ScheduleAllLocked(d);
            }
        }
        Run(d);
    }

    /// <summary>
    /// True when one more worker may start for <paramref name="job"/>. At the cap, an idle worker
    /// of another job makes room when <paramref name="evict"/> (for a waiting request; a
    /// prestart never evicts).
    /// </summary>
    private bool CanStartLocked(JobRecord job, Deferred d, bool evict = true)
    {
        if (job.Ended || _disposed) return false;
        // Workers whose task is blocked in Get do not count: a chain of nested blocking tasks
        // needs one more worker per level, and counting them would hang the chain at the cap.
        if (_workers.Count - _actorWorkers - BlockedWorkersLocked() < MaxWorkers) return true;
        if (!evict) return false;
        foreach (var other in _workers.Values)
        {
            if (other.State != WorkerState.Idle || other.Job == job) continue;
            RemoveWorkerLocked(other, d);
            Log.WorkerKilled(_logger, other.Id, other.Job.Id, other.Pid, $"making room for a worker of job {job.Id} ({MaxWorkers} workers at most)");
            return true;
        }
        return false;
    }

    private int BlockedWorkersLocked()
    {
        var n = 0;
        foreach (var w in _workers.Values) if (w.Blocked && w.State == WorkerState.Leased && w.LeasePurpose == LeasePurpose.Task) n++;
        return n;
    }

    private void StartWorkerLocked(JobRecord job, Deferred d)
    {
        var worker = new WorkerRecord(++_nextWorkerId, job);
        _workers.Add(worker.Id, worker);
        job.Workers.Add(worker);
        job.Starting++;
        d.Launch(worker);
    }

    /// <summary>Takes a worker out of every table (freeing its lease) and queues its kill. Idempotent.</summary>
    private void RemoveWorkerLocked(WorkerRecord worker, Deferred d)
    {
        if (worker.State == WorkerState.Dead) return;
        if (worker.State == WorkerState.Starting) worker.Job.Starting--;
        if (worker.State == WorkerState.Leased) ReleaseLeaseLocked(worker);
        worker.State = WorkerState.Dead;
        _workers.Remove(worker.Id);
        RemoveWorkerActorNamesLocked(worker);
        worker.Job.Workers.Remove(worker);
        if (worker.Process is { } p) d.Kill(p);
        if (worker.KeptPastJob) d.EndOwner(WorkerOwner(worker)); // its job's end left its objects to it
    }

    /// <summary>The owner id this raylet gave <paramref name="worker"/> (its objects in the node's store carry it).</summary>
    private ulong WorkerOwner(WorkerRecord worker) =>
        Ray.Contract.Ids.OwnerIds.Worker(Ray.Contract.Ids.OwnerIds.NodeTagOf(_options.NodeId), worker.Id);

    /// <summary>Raised (outside the lock) when a worker that outlived its job goes: the node frees the objects it owned.</summary>
    internal event Action<ulong>? OwnerEnded;

    /// <summary>A worker that never registered: counts against its job; too many in a row fail the job's waiting requests.</summary>
    private void StartFailedLocked(WorkerRecord worker, string reason, Deferred d)
    {
        var job = worker.Job;
        RemoveWorkerLocked(worker, d);
        job.StartFailures++;
        Log.WorkerStartFailed(_logger, worker.Id, job.Id, reason, job.StartFailures);
        if (job.Ended) return;
        if (job.StartFailures >= _options.MaxStartFailures)
        {
            var message = $"no worker could be started for job {job.Id}: {job.StartFailures} starts in a row failed, the last because {reason} (see {WorkerLog(job.Id, worker.Id)})";
            foreach (var request in job.Pending) SendError(job, request.RequestId, ClusterErrorCode.WorkerStartFailed, message);
            job.Pending.Clear();
            job.StartFailures = 0;
            return;
        }
        ScheduleLocked(job, d);
    }

    private string WorkerLog(uint jobId, uint workerId) =>
        Path.Combine(_options.LogsDirectory, string.Create(CultureInfo.InvariantCulture, $"worker-{jobId}-{workerId}.out"));

    // ---- outside the lock ----

    private void Run(Deferred d)
    {
        if (d.Kills is { } kills) foreach (var p in kills) p.Kill();
        if (d.Launches is { } launches) foreach (var w in launches) Launch(w);
        if (d.EndedOwners is { } owners)
            foreach (var o in owners)
            {
                try { OwnerEnded?.Invoke(o); }
                catch (Exception e) { Log.JobCleanupFailed(_logger, 0, e); }
            }
    }

    private void Launch(WorkerRecord worker)
    {
        var owner = WorkerOwner(worker);
        lock (worker.Job.Owners) worker.Job.Owners.Add(owner);
        var request = new WorkerLaunchRequest
        {
            OwnerId = owner,
            RayletAddress = _options.RayletAddress,
            Token = _options.Token,
            JobId = worker.Job.Id,
            WorkerId = worker.Id,
            SessionDir = _options.SessionDir,
            PlasmaSocket = _options.PlasmaSocket,
            CodePaths = worker.Job.CodePaths,
            LogFile = WorkerLog(worker.Job.Id, worker.Id),
        };
        IWorkerProcess process;
        try { process = _launcher.Launch(request); }
        catch (Exception e)
        {
            var d = new Deferred();
            lock (_lock)
            {
                if (worker.State == WorkerState.Starting) StartFailedLocked(worker, $"the launch failed: {e.Message}", d);
            }
            Run(d);
            return;
        }
        bool dead;
        lock (_lock)
        {
            dead = worker.State == WorkerState.Dead;
            worker.Process = process;
            if (worker.Pid == 0) worker.Pid = process.Pid;
        }
        Log.WorkerStarted(_logger, worker.Id, worker.Job.Id, process.Pid, request.LogFile);
        // The job ended while it was launching: nobody wants it.
        if (dead) process.Kill();
        _ = process.Exited.ContinueWith(_ =>
        {
            WorkerGone(worker, "its process exited");
            RemoveSocket(worker, process.Pid);
            process.Dispose();
        }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
        _ = EnforceRegisterTimeoutAsync(worker);
    }

    /// <summary>
    /// A worker that exited without removing its socket (killed, crashed) leaves the file: remove
    /// it, at the path the worker's ids give (never a path only the worker named).
    /// </summary>
    private void RemoveSocket(WorkerRecord worker, int pid)
    {
        if (string.IsNullOrEmpty(_options.SessionDir)) return;
        var path = Ray.Contract.Session.WorkerSocketPaths.SocketPath(_options.SessionDir, worker.Job.Id, worker.Id, pid);
        if (Session.SessionLeftovers.RemoveWorkerSocket(path)) Log.WorkerSocketRemoved(_logger, worker.Id, worker.Job.Id, path);
    }

    private async Task EnforceRegisterTimeoutAsync(WorkerRecord worker)
    {
        try { await Task.Delay(_options.RegisterTimeout, _disposing.Token).ConfigureAwait(false); }
        catch (OperationCanceledException) { return; }
        var d = new Deferred();
        lock (_lock)
        {
            if (worker.State != WorkerState.Starting) return;
            StartFailedLocked(worker, $"it did not register within {_options.RegisterTimeout.TotalSeconds:0.#} s", d);
        }
        Run(d);
    }

    /// <summary>Process launches and kills decided under the lock, run after it is released.</summary>
    private sealed class Deferred
    {
        internal List<WorkerRecord>? Launches { get; private set; }
        internal List<IWorkerProcess>? Kills { get; private set; }
        internal int LaunchCount => Launches?.Count ?? 0;
        internal void Launch(WorkerRecord w) => (Launches ??= []).Add(w);
        internal void Kill(IWorkerProcess p) => (Kills ??= []).Add(p);
        internal List<ulong>? EndedOwners { get; private set; }
        internal void EndOwner(ulong owner) => (EndedOwners ??= []).Add(owner);
    }
}

/// <summary>A worker's registration was refused; the connection is closed after the error reply.</summary>
internal sealed class WorkerRefusedException(ClusterErrorCode code, string message) : Exception(message)
{
    /// <summary>The error code of the reply.</summary>
    internal ClusterErrorCode Code { get; } = code;
}
