using Ray.Contract.Messages;
using Ray.Protocol;
using Ray.Raylet.Jobs;
using Ray.Raylet.Server;

namespace Ray.Raylet.Leases;

/// <summary>
/// Named actors, cluster-wide per namespace (Ray's GCS actor name table): a job claims a name
/// when it creates a named actor, publishes the actor's address once it is alive (and again
/// after a restart), and frees the name when the actor dies; a job's claims go when it ends.
/// Lookups wait for a claimed actor to be alive. Under the manager's one lock.
/// </summary>
internal sealed partial class LeaseManager
{
    /// <summary>The most named actors one node keeps.</summary>
    internal const int MaxActorNames = 100_000;

    private readonly Dictionary<(string, string), ActorNameRecord> _actorNames = [];

    /// <summary>Claims <paramref name="name"/> in <paramref name="ns"/> for <paramref name="job"/>; replies 0 (claimed) or 1 (held by a live claim).</summary>
    internal void RegisterActorName(JobRecord job, IFrameSink sink, ulong requestId, string ns, string name, string typeName, bool detached = false)
    {
        ArgumentNullException.ThrowIfNull(job);
        lock (_lock)
        {
            if (job.Ended) return;
            byte status;
            if (_actorNames.ContainsKey((ns, name))) status = 1;
            else if (_actorNames.Count >= MaxActorNames)
            {
                ReplyError(sink, ClusterMessageKind.RegisterActorName, requestId, ClusterErrorCode.Internal, $"this node already has {MaxActorNames} named actors");
                return;
            }
            else
            {
                _actorNames.Add((ns, name), new ActorNameRecord(job.Id, typeName) { Detached = detached });
                status = 0;
            }
            sink.Send((ushort)ClusterMessageKind.RegisterActorName, FrameFlags.Reply, requestId, [status]);
        }
    }

    /// <summary>The claiming job publishes where its actor lives (empty: it died, the name is free). Other jobs' messages are ignored.</summary>
    internal void SetActorAddress(JobRecord job, string ns, string name, byte[] address, uint workerId = 0)
    {
        ArgumentNullException.ThrowIfNull(job);
        lock (_lock)
        {
            if (!_actorNames.TryGetValue((ns, name), out var record) || record.JobId != job.Id) return;
            record.WorkerId = workerId;
            if (address.Length == 0)
            {
                _actorNames.Remove((ns, name));
                FailWaiters(record, ns, name);
                return;
            }
            record.Address = address;
            var found = ClusterCodec.EncodeActorFound(record.TypeName, address);
            foreach (var (sink, id) in record.Waiters) sink.Send((ushort)ClusterMessageKind.LookupActorName, FrameFlags.Reply, id, found);
            record.Waiters.Clear();
        }
    }

    /// <summary>Answers with the named actor's type and address once it is alive; ActorNotFound when nothing holds the name.</summary>
    internal void LookupActorName(IFrameSink sink, ulong requestId, string ns, string name)
    {
        lock (_lock)
        {
            if (!_actorNames.TryGetValue((ns, name), out var record))
                ReplyError(sink, ClusterMessageKind.LookupActorName, requestId, ClusterErrorCode.ActorNotFound, NotFound(ns, name));
            else if (record.Address is { } address)
                sink.Send((ushort)ClusterMessageKind.LookupActorName, FrameFlags.Reply, requestId, ClusterCodec.EncodeActorFound(record.TypeName, address));
            else record.Waiters.Add((sink, requestId));
        }
    }

    /// <summary>
    /// Kills an actor's worker: a detached actor's (any job may: its own has ended, or may have),
    /// or one the sender's job leased. The names it held go with it.
    /// </summary>
    internal void KillActorWorker(JobRecord job, uint workerId)
    {
        var d = new Deferred();
        lock (_lock)
        {
            if (!_workers.TryGetValue(workerId, out var worker) || worker.State != Workers.WorkerState.Leased
                || worker.LeasePurpose != LeasePurpose.Actor || !(worker.LeaseDetached || worker.Job == job)) return;
            RemoveWorkerLocked(worker, d);
            ScheduleAllLocked(d);
        }
        Run(d);
    }

    // A worker is gone: the detached actor names it held are freed once their job has ended (nobody
    // will restart the actor); while the job lives its driver may restart the actor and publish
    // the new address, so the claim stays (lookups wait for it). An owned actor's driver frees its own.
    private void RemoveWorkerActorNamesLocked(Workers.WorkerRecord worker)
    {
        if (_actorNames.Count == 0) return;
        foreach (var (key, record) in _actorNames.Where(kv => kv.Value.Detached && kv.Value.WorkerId == worker.Id).ToList())
        {
            if (_jobs.ContainsKey(record.JobId))
            {
                record.Address = null;
                record.WorkerId = 0;
                continue;
            }
            _actorNames.Remove(key);
            FailWaiters(record, key.Item1, key.Item2);
        }
    }

    /// <summary>Passes a cancel on to a worker the job has leased (others' workers are ignored).</summary>
    internal void CancelTask(JobRecord job, uint workerId, ulong owner, ulong sequence)
    {
        IFrameSink? link;
        lock (_lock)
        {
            if (!_workers.TryGetValue(workerId, out var worker) || worker.Job != job || worker.State != Workers.WorkerState.Leased) return;
            link = worker.Link;
        }
        link?.Send((ushort)ClusterMessageKind.CancelTask, FrameFlags.NoReply, 0, ClusterCodec.EncodeCancelTask(workerId, owner, sequence));
    }

    private void RemoveJobActorNamesLocked(JobRecord job)
    {
        foreach (var (key, record) in _actorNames.Where(kv => kv.Value.JobId == job.Id && !(kv.Value.Detached && kv.Value.Address is not null)).ToList())
        {
            _actorNames.Remove(key);
            FailWaiters(record, key.Item1, key.Item2);
        }
    }

    private static void FailWaiters(ActorNameRecord record, string ns, string name)
    {
        foreach (var (sink, id) in record.Waiters)
            ReplyError(sink, ClusterMessageKind.LookupActorName, id, ClusterErrorCode.ActorNotFound, NotFound(ns, name) + " (it died before it was alive)");
        record.Waiters.Clear();
    }

    private static string NotFound(string ns, string name) => $"no live actor is named '{name}' in namespace '{ns}'";

    private sealed class ActorNameRecord(uint jobId, string typeName)
    {
        internal uint JobId { get; } = jobId;
        internal string TypeName { get; } = typeName;
        internal byte[]? Address { get; set; }
        internal bool Detached { get; init; }
        internal uint WorkerId { get; set; }
        internal List<(IFrameSink Sink, ulong RequestId)> Waiters { get; } = [];
    }
}
