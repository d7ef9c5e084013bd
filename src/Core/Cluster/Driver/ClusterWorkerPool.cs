using Ray.Protocol;
using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Ray.Cluster.Wire;
using Ray.Scheduling;
using Ray.Workers;

namespace Ray.Cluster.Driver;

/// <summary>
/// The worker pool of a connected driver: worker processes leased from the raylet, one lease per
/// worker, reused for many tasks of a scheduling class (Ray's lease-based direct transport).
///
/// 1. A task becomes ready: its class's queue gets it and <see cref="NotifyWork"/> pumps the class:
///    tasks go to the least loaded leased worker that has room (see <see cref="WorkerChannel.Capacity"/>).
/// 2. Tasks left over (no lease, or every lease full) make the class ask the raylet for one more
///    lease (one request at a time per class); the grant connects to the worker and pumps again.
/// 3. A lease idle for <see cref="IdleLeaseTimeout"/> goes back to the raylet.
/// 4. A worker whose connection drops is forgotten (its lease returned as broken); its tasks in
///    flight are retried through the queue or failed.
/// </summary>
internal sealed partial class ClusterWorkerPool : IWorkerPool
{
    internal static readonly TimeSpan IdleLeaseTimeout = TimeSpan.FromSeconds(1);

    private readonly Runtime.RuntimeCore _core;
    private readonly ClusterSession _session;
    private readonly ConcurrentDictionary<SchedulingClass, ClassLeases> _classes = new();
    private readonly Timer _reaper;
    private readonly TimeSpan _spin;
    private volatile bool _stopping;
    private readonly object _channelsLock = new(); // shutdown vs. a lease that lands meanwhile

    internal ClusterWorkerPool(Runtime.RuntimeCore core, ClusterSession session, TimeSpan spin)
    {
        _core = core;
        _session = session;
        _spin = spin;
        _reaper = new Timer(_ => ReturnIdleLeases(), null, TimeSpan.FromMilliseconds(200), TimeSpan.FromMilliseconds(200));
    }

    public int WorkerCount => _classes.Values.Sum(c => c.Channels.Length);

    public int BlockedCount => 0;

    public void NotifyWork(SchedulingClass? cls)
    {
        if (_stopping) return;
        if (cls is not null) PumpOrSchedule(Leases(cls));
        else foreach (var c in _classes.Values) PumpOrSchedule(c);
    }

    public void OnWorkerBlocked() { }

    public void OnWorkerUnblocked() { }

    private ClassLeases Leases(SchedulingClass cls) =>
        _classes.TryGetValue(cls, out var c) ? c : _classes.GetOrAdd(cls, static k => new ClassLeases(k));

    // A thread handling replies (a task completing made another ready) must not send: the
    // pump runs on the thread pool then.
    private void PumpOrSchedule(ClassLeases state)
    {
        if (!FramedConnection.InReceiveContext) Pump(state);
        else if (Interlocked.Exchange(ref state.PumpScheduled, 1) == 0)
            ThreadPool.UnsafeQueueUserWorkItem(static s =>
            {
                var (pool, st) = s;
                Volatile.Write(ref st.PumpScheduled, 0);
                pool.Pump(st);
            }, (this, state), preferLocal: false);
    }

    private void Pump(ClassLeases state)
    {
        var scheduler = _core.Scheduler;
        var cls = state.Class;
        while (!cls.Ready.IsEmpty)
        {
            var channel = PickChannel(state);
            if (channel is null) break;
            if (!scheduler.TryDequeue(cls, out var task)) break;
            if (!task.TryBeginRemote()) continue; // cancelled while queued
            if (!channel.Push(task)) task.RequeueUnsent(); // retiring or closed: another channel takes it
        }
        if (!cls.Ready.IsEmpty) RequestLease(state);
    }

    private static WorkerChannel? PickChannel(ClassLeases state)
    {
        WorkerChannel? best = null;
        foreach (var c in state.Channels)
        {
            if (c.IsClosed) continue;
            var n = c.InFlight;
            if (n >= c.Capacity) continue;
            if (best is null || n < best.InFlight) best = c;
            if (n == 0) break;
        }
        return best;
    }

    private void RequestLease(ClassLeases state)
    {
        if (_stopping || Interlocked.CompareExchange(ref state.Requesting, 1, 0) != 0) return;
        _ = RequestLeaseAsync(state);
    }

    private async Task RequestLeaseAsync(ClassLeases state)
    {
        var retry = false;
        try
        {
            var grant = await _session.RequestLeaseAsync(LeasePurpose.Task, ToWire(state.Class.Request, _core.Scheduler.Registry),
                ClusterSession.ToWire(state.Class.Placement)).ConfigureAwait(false);
            WorkerChannel channel;
            try
            {
                channel = await WorkerChannel.ConnectAsync(grant, _session.Token, _session.Job.JobId, _spin, (c, why, lost) => OnChannelClosed(state, c, why, lost),
                    new LeaseContext(_core.Namespace, ToWire(state.Class.Request, _core.Scheduler.Registry), ClusterSession.ToWire(state.Class.Placement),
                        state.Class.Placement?.Capture ?? false, null)).ConfigureAwait(false);
            }
            catch (Exception e) // refused, timed out, or anything else: this worker is no good
            {
                Log.LeaseConnectFailed(_core.Logger, grant.WorkerId, e.Message);
                _session.ReturnLease(grant.LeaseId, workerBroken: true);
                retry = true;
                return;
            }
            channel.Session = _session;
            channel.RoomFreed = _ => { if (!state.Class.Ready.IsEmpty) PumpOrSchedule(state); };
            bool stopping;
            lock (_channelsLock)
            {
                stopping = _stopping;
                if (!stopping) lock (state) state.Channels = [.. state.Channels, channel];
            }
            if (stopping)
            {
                channel.Dispose();
                _session.ReturnLease(grant.LeaseId, workerBroken: false);
            }
        }
        catch (Exception e)
        {
            // The raylet refused or is gone: the class's queued tasks cannot run.
            var error = e switch
            {
                RayClusterException { WireCode: ClusterErrorCode.Infeasible } => ExceptionFactory.Unsatisfiable($"Tasks of class {state.Class.Description}", state.Class.Description, e.Message),
                RayClusterException { WireCode: ClusterErrorCode.PlacementGroupRemoved } when state.Class.Placement is { } p => p.Group.RemovedError(),
                _ => e as RayException ?? new RayClusterException($"no worker lease for {state.Class.Description}: {e.Message}", e),
            };
            while (_core.Scheduler.TryDequeue(state.Class, out var t)) t.FailSystem(error);
        }
        finally
        {
            Volatile.Write(ref state.Requesting, 0);
            if (!_stopping)
            {
                // A connect that failed asks again (after a pause, so a broken worker is not hammered).
                if (retry) await Task.Delay(50).ConfigureAwait(false);
                Pump(state);
            }
        }
    }

    private void OnChannelClosed(ClassLeases state, WorkerChannel channel, string reason, Tasks.SubmittedTask[] lost)
    {
        lock (state) state.Channels = state.Channels.Where(c => c != channel).ToArray();
        if (!_stopping && !channel.IsRetired)
        {
            Log.WorkerLost(_core.Logger, channel.Lease.WorkerId, channel.Lease.Pid, reason);
            _session.ReturnLease(channel.Lease.LeaseId, workerBroken: true);
        }
        foreach (var t in lost) t.OnWorkerDied(reason); // retried through the queue (pushed to a live worker) or failed
    }

    private void ReturnIdleLeases()
    {
        if (_stopping) return;
        var limit = (long)(IdleLeaseTimeout.TotalSeconds * Stopwatch.Frequency);
        var now = Stopwatch.GetTimestamp();
        foreach (var state in _classes.Values)
        {
            if (!state.Class.Ready.IsEmpty) continue;
            foreach (var c in state.Channels)
            {
                if (c.InFlight != 0 || now - c.LastActive < limit || !c.TryRetire()) continue;
                lock (state) state.Channels = state.Channels.Where(x => x != c).ToArray();
                c.Dispose(); // first: the worker must see this session end before it serves another lease
                _session.ReturnLease(c.Lease.LeaseId, workerBroken: false);
            }
        }
    }

    internal static List<ResourceAmount> ToWire(ResourceSet request, ResourceRegistry registry)
    {
        var list = new List<ResourceAmount>();
        for (var i = 0; i < request.Amounts.Length; i++)
            if (request.Amounts[i] != 0) list.Add(new ResourceAmount(registry.NameOf(i), request.Amounts[i]));
        return list;
    }

    public void Dispose()
    {
        lock (_channelsLock) _stopping = true;
        _reaper.Dispose();
        foreach (var state in _classes.Values)
            foreach (var c in state.Channels)
            {
                _session.ReturnLease(c.Lease.LeaseId, workerBroken: false);
                c.Dispose();
            }
    }

    private sealed class ClassLeases(SchedulingClass cls)
    {
        internal SchedulingClass Class { get; } = cls;
        internal volatile WorkerChannel[] Channels = [];
        internal int Requesting;
        internal int PumpScheduled;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 40, Level = LogLevel.Warning, Message = "Worker {WorkerId} (pid {Pid}) was lost: {Reason}")]
        internal static partial void WorkerLost(ILogger logger, uint workerId, int pid, string reason);

        [LoggerMessage(EventId = 41, Level = LogLevel.Warning, Message = "Cannot connect to leased worker {WorkerId}: {Reason}")]
        internal static partial void LeaseConnectFailed(ILogger logger, uint workerId, string reason);
    }
}
