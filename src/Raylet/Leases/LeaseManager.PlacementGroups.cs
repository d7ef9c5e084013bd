using Microsoft.Extensions.Logging;
using Ray.Contract.Messages;
using Ray.Protocol;
using Ray.Raylet.Jobs;
using Ray.Raylet.Node;
using Ray.Raylet.Server;

namespace Ray.Raylet.Leases;

/// <summary>
/// Placement groups on this node (Ray's GCS placement group manager and the raylet's bundle
/// reservations, for one node). A group's bundles are reserved out of the node's resources all
/// or nothing; lease requests placed into it take their resources from a bundle instead of the
/// node; removal gives the reservation back, kills the workers leased in it and fails the
/// requests waiting on it. A job's groups are removed when it ends, detached ones are kept.
/// Everything here runs under the manager's one lock.
/// </summary>
internal sealed partial class LeaseManager
{
    /// <summary>The most placement groups one node keeps (live ones; removed ones are forgotten).</summary>
    internal const int MaxPlacementGroups = 100_000;

    private readonly Dictionary<(ulong, ulong), PlacementGroupRecord> _groups = [];
    private readonly Dictionary<string, PlacementGroupRecord> _groupNames = new(StringComparer.Ordinal);
    private readonly List<PlacementGroupRecord> _pendingGroups = [];

    /// <summary>
    /// Registers a group of <paramref name="job"/> and reserves it when it fits; the reply (created
    /// or pending, or an error) goes to <paramref name="sink"/> with <paramref name="requestId"/>.
    /// </summary>
    internal void CreatePlacementGroup(JobRecord job, IFrameSink sink, ulong requestId, PlacementGroupSpec spec)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(spec);
        var demands = new List<ResourceDemand>(spec.Bundles.Count);
        for (var i = 0; i < spec.Bundles.Count; i++)
        {
            if (_resources.Resolve(spec.Bundles[i], out var infeasible) is not { } demand)
            {
                ReplyError(sink, ClusterMessageKind.CreatePlacementGroup, requestId, ClusterErrorCode.Infeasible, $"bundle {i} of placement group {spec.Name} can never be reserved on this node: {infeasible}");
                return;
            }
            demands.Add(demand);
        }
        // One node: every bundle lands here, which STRICT_SPREAD forbids for more than one.
        if (spec.Strategy == 3 && demands.Count > 1)
        {
            ReplyError(sink, ClusterMessageKind.CreatePlacementGroup, requestId, ClusterErrorCode.Infeasible,
                $"a STRICT_SPREAD placement group of {demands.Count} bundles needs {demands.Count} nodes; this cluster has 1");
            return;
        }
        var bundles = _resources.CreateBundles(demands);
        if (!_resources.IsFeasible(bundles))
        {
            ReplyError(sink, ClusterMessageKind.CreatePlacementGroup, requestId, ClusterErrorCode.Infeasible,
                $"placement group {spec.Name} asks for {_resources.Format(bundles.Sum)} in all, more than this node has");
            return;
        }
        var record = new PlacementGroupRecord(spec, job.Id, bundles);
        var d = new Deferred();
        lock (_lock)
        {
            if (job.Ended) return;
            string? taken = _groups.ContainsKey(record.Key) ? $"placement group {record} already exists"
                : spec.Name.Length > 0 && _groupNames.ContainsKey(spec.Name) ? $"a placement group named '{spec.Name}' already exists"
                : _groups.Count >= MaxPlacementGroups ? $"this node already has {MaxPlacementGroups} placement groups" : null;
            if (taken is not null)
            {
                ReplyError(sink, ClusterMessageKind.CreatePlacementGroup, requestId, ClusterErrorCode.AlreadyExists, taken);
                return;
            }
            _groups.Add(record.Key, record);
            if (spec.Name.Length > 0) _groupNames.Add(spec.Name, record);
            if (_resources.TryReserve(bundles)) record.State = 1;
            else _pendingGroups.Add(record);
            sink.Send((ushort)ClusterMessageKind.CreatePlacementGroup, FrameFlags.Reply, requestId, [record.State]);
            if (record.State == 1) ScheduleAllLocked(d); // requests placed into it may wait already (its id was known)
        }
        if (_logger.IsEnabled(LogLevel.Debug))
            Log.PlacementGroupCreated(_logger, record.ToString(), job.Id, record.State == 1 ? "created" : "pending", _resources.Format(bundles.Sum));
        Run(d);
    }

    /// <summary>Removes a group (any job's); unknown ids are ignored.</summary>
    internal void RemovePlacementGroup(ulong owner, ulong sequence, string reason)
    {
        var d = new Deferred();
        PlacementGroupRecord? record;
        int killed;
        lock (_lock)
        {
            if (!_groups.TryGetValue((owner, sequence), out record)) return;
            killed = RemoveGroupLocked(record, d);
            ScheduleAllLocked(d);
        }
        if (killed > 0 || _logger.IsEnabled(LogLevel.Debug)) Log.PlacementGroupRemoved(_logger, record.ToString(), reason, killed);
        Run(d);
    }

    /// <summary>Answers on <paramref name="sink"/> once the group is created (now if it is); an error if it is removed or unknown.</summary>
    internal void WaitPlacementGroup(IFrameSink sink, ulong requestId, ulong owner, ulong sequence)
    {
        lock (_lock)
        {
            if (!_groups.TryGetValue((owner, sequence), out var record))
                ReplyError(sink, ClusterMessageKind.WaitPlacementGroup, requestId, ClusterErrorCode.PlacementGroupRemoved, $"placement group pg-{owner:x}-{sequence:x} was removed or never existed");
            else if (record.State == 1) sink.Send((ushort)ClusterMessageKind.WaitPlacementGroup, FrameFlags.Reply, requestId, []);
            else record.Waiters.Add((sink, requestId));
        }
    }

    /// <summary>Every live group (or the one <paramref name="filter"/> names: by name, else by id), with each bundle's resources and what its work holds.</summary>
    internal List<PlacementGroupRow> PlacementGroupTable((string? Name, ulong Owner, ulong Sequence)? filter = null)
    {
        lock (_lock)
        {
            IEnumerable<PlacementGroupRecord> groups = filter switch
            {
                null => _groups.Values,
                { Name: { } name } => _groupNames.TryGetValue(name, out var named) ? [named] : [],
                { } id => _groups.TryGetValue((id.Owner, id.Sequence), out var g) ? [g] : [],
            };
            return groups.Select(g => new PlacementGroupRow(
                new PlacementGroupSpecView(g.Spec.Owner, g.Spec.Sequence, g.Spec.Name, g.Spec.Strategy, g.Spec.Detached),
                g.State, g.JobId, _resources.Usage(g.Bundles))).ToList();
        }
    }

    // A lease request placed into a group: the group must be live, the bundle must exist and
    // the demand must fit it; else the request is answered with an error here.
    private bool TryPlaceLocked(JobRecord job, ulong requestId, LeasePlacement p, ResourceDemand demand, out PlacementGroupRecord? group, out int bundle)
    {
        bundle = p.Bundle;
        if (!_groups.TryGetValue((p.Owner, p.Sequence), out group))
        {
            SendError(job, requestId, ClusterErrorCode.PlacementGroupRemoved, $"placement group pg-{p.Owner:x}-{p.Sequence:x} was removed or never existed");
            return false;
        }
        if (p.Bundle >= group.Bundles.Count)
        {
            SendError(job, requestId, ClusterErrorCode.Infeasible, $"placement group {group} has {group.Bundles.Count} bundles; there is no bundle {p.Bundle}");
            return false;
        }
        if (!group.Bundles.IsFeasible(p.Bundle, demand.Set))
        {
            SendError(job, requestId, ClusterErrorCode.Infeasible,
                $"{demand} does not fit {(p.Bundle >= 0 ? $"bundle {p.Bundle}" : "any bundle")} of placement group {group}");
            return false;
        }
        return true;
    }

    private bool CanAcquireLocked(PendingLease request) =>
        request.Group is { } g ? _resources.CanAcquire(g.Bundles, request.Bundle, request.Demand) : _resources.CanAcquire(request.Demand);

    private bool TryAcquireLocked(PendingLease request, out int bundle)
    {
        if (request.Group is { } g) return (bundle = _resources.TryAcquire(g.Bundles, request.Bundle, request.Demand)) >= 0;
        bundle = -1;
        return _resources.TryAcquire(request.Demand);
    }

    private void ReservePendingGroupsLocked()
    {
        for (var i = 0; i < _pendingGroups.Count; i++)
        {
            var g = _pendingGroups[i];
            if (!_resources.TryReserve(g.Bundles)) continue;
            g.State = 1;
            _pendingGroups.RemoveAt(i--);
            foreach (var (sink, id) in g.Waiters) sink.Send((ushort)ClusterMessageKind.WaitPlacementGroup, FrameFlags.Reply, id, []);
            g.Waiters.Clear();
            if (_logger.IsEnabled(LogLevel.Debug)) Log.PlacementGroupCreated(_logger, g.ToString(), g.JobId, "created", _resources.Format(g.Bundles.Sum));
        }
    }

    // Removes the group: reservation back, waiters and placed requests failed, placed workers killed.
    private int RemoveGroupLocked(PlacementGroupRecord record, Deferred d)
    {
        _groups.Remove(record.Key);
        if (record.Spec.Name.Length > 0) _groupNames.Remove(record.Spec.Name);
        _pendingGroups.Remove(record);
        record.State = 2;
        _resources.Remove(record.Bundles);
        var message = $"placement group {record} was removed";
        foreach (var (sink, id) in record.Waiters)
            ReplyError(sink, ClusterMessageKind.WaitPlacementGroup, id, ClusterErrorCode.PlacementGroupRemoved, message);
        record.Waiters.Clear();
        foreach (var job in _jobs.Values)
        {
            for (var node = job.Pending.First; node is not null;)
            {
                var next = node.Next;
                if (node.Value.Group == record)
                {
                    job.Pending.Remove(node);
                    SendError(job, node.Value.RequestId, ClusterErrorCode.PlacementGroupRemoved, message);
                }
                node = next;
            }
        }
        var killed = 0;
        foreach (var w in _workers.Values.Where(w => w.LeaseGroup == record).ToList())
        {
            RemoveWorkerLocked(w, d); // as Ray: the work placed into a removed group is stopped
            killed++;
        }
        return killed;
    }

    private void RemoveJobGroupsLocked(JobRecord job, Deferred d)
    {
        foreach (var g in _groups.Values.Where(g => g.JobId == job.Id && !g.Spec.Detached).ToList())
        {
            var killed = RemoveGroupLocked(g, d);
            Log.PlacementGroupRemoved(_logger, g.ToString(), $"its job {job.Id} ended", killed);
        }
    }

    private static void ReplyError(IFrameSink sink, ClusterMessageKind kind, ulong requestId, ClusterErrorCode code, string message) =>
        sink.Send((ushort)kind, FrameFlags.Reply | FrameFlags.Error, requestId, ClusterCodec.EncodeError(code, message));
}
