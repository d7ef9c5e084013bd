using System.Buffers;
using Ray.Contract.Messages;
using Ray.Protocol;
using Ray.Raylet.Jobs;
using Ray.Raylet.Server;
using Ray.Raylet.Workers;

namespace Ray.Raylet.Leases;

// Borrowed objects: a worker holding a ref whose object was pending when its owner sent it asks
// for the value (WantObject); the raylet passes the request to the owner's connection and the
// answer (ObjectValue) back to the worker. Owners are drivers (a worker's nested driver too),
// found by the owner id the raylet gave them; an owner that goes away fails what waits on it.
internal sealed partial class LeaseManager
{
    private readonly Dictionary<ulong, JobRecord> _owners = [];

    /// <summary>Records the driver owner id of <paramref name="job"/> (its objects' owner): WantObject finds it by that id.</summary>
    internal void RegisterOwner(ulong owner, JobRecord job)
    {
        lock (_lock) if (!job.Ended) _owners[owner] = job;
    }

    /// <summary>Passes a worker's WantObject on to the object's owner, or fails it at once when the owner is unknown or gone.</summary>
    internal void WantObject(WorkerRecord requester, ulong owner, ulong sequence)
    {
        IFrameSink? ownerLink = null;
        lock (_lock)
        {
            if (_owners.TryGetValue(owner, out var job) && !job.Ended)
            {
                job.Wants.Add((requester.Id, owner, sequence));
                ownerLink = job.Driver;
            }
        }
        if (ownerLink is not null)
            ownerLink.Send((ushort)ClusterMessageKind.WantObject, FrameFlags.NoReply, 0, ClusterCodec.EncodeWantObjectFor(requester.Id, owner, sequence));
        else SendOwnerGone(requester.Link, owner, sequence, "its owner is not connected to this raylet (it ended, or the object was never sent from this node)");
    }

    /// <summary>
    /// A connection closed: its waits (named-actor lookups, placement-group waits) are dropped, so
    /// a connection that came and went while waiting leaves nothing behind.
    /// </summary>
    internal void ForgetWaiters(IFrameSink sink)
    {
        lock (_lock)
        {
            foreach (var record in _actorNames.Values)
                if (record.Waiters.Count != 0) record.Waiters.RemoveAll(w => ReferenceEquals(w.Sink, sink));
            foreach (var group in _groups.Values)
                if (group.Waiters.Count != 0) group.Waiters.RemoveAll(w => ReferenceEquals(w.Sink, sink));
        }
    }

    /// <summary>How many waits (named-actor lookups and placement-group waits) are held (tests).</summary>
    internal int WaiterCount
    {
        get { lock (_lock) return _actorNames.Values.Sum(r => r.Waiters.Count) + _groups.Values.Sum(g => g.Waiters.Count); }
    }

    /// <summary>A worker's actor exists (ActorCreated): from now on a detached lease outlives its job.</summary>
    internal void ActorCreated(WorkerRecord worker)
    {
        lock (_lock) if (worker.State == WorkerState.Leased && worker.LeasePurpose == LeasePurpose.Actor) worker.ActorCreated = true;
    }

    /// <summary>Passes a worker's CancelObject on to the object's owner (an unknown owner: nothing to cancel).</summary>
    internal void CancelObject(ulong owner, byte[] payload)
    {
        IFrameSink? ownerLink;
        lock (_lock) ownerLink = _owners.TryGetValue(owner, out var job) && !job.Ended ? job.Driver : null;
        ownerLink?.Send((ushort)ClusterMessageKind.CancelObject, FrameFlags.NoReply, 0, payload);
    }

    /// <summary>Passes an owner's ObjectValue on to the worker that wanted it (values nobody waits for are dropped).</summary>
    /// <exception cref="ProtocolException">Shorter than its head.</exception>
    internal void ObjectValue(JobRecord from, ReadOnlySequence<byte> payload)
    {
        if (payload.Length < ClusterCodec.ObjectValueHead) throw new ProtocolException($"ObjectValue of {payload.Length} bytes; its head alone is {ClusterCodec.ObjectValueHead}");
        var r = new PayloadReader(payload.Slice(0, ClusterCodec.ObjectValueHead), (ushort)ClusterMessageKind.ObjectValue);
        var (workerId, owner, sequence) = (r.U32(), r.U64(), r.U64());
        IFrameSink? link = null;
        lock (_lock)
        {
            if (!from.Wants.Remove((workerId, owner, sequence))) return; // not asked for, or asked twice and answered once
            if (_workers.TryGetValue(workerId, out var worker)) link = worker.Link;
        }
        link?.Send((ushort)ClusterMessageKind.ObjectValue, FrameFlags.NoReply, 0, payload.Slice(4).ToArray());
    }

    // At job end, under the lock: its owner ids leave the directory and the workers waiting on
    // its objects get a failure (sent after the lock by the caller's list).
    private List<(IFrameSink Link, ulong Owner, ulong Sequence)>? DropOwnerLocked(JobRecord job)
    {
        foreach (var owner in _owners.Where(kv => kv.Value == job).Select(kv => kv.Key).ToList()) _owners.Remove(owner);
        if (job.Wants.Count == 0) return null;
        var failed = new List<(IFrameSink, ulong, ulong)>();
        foreach (var (workerId, owner, sequence) in job.Wants)
            if (_workers.TryGetValue(workerId, out var w) && w.Link is { } link) failed.Add((link, owner, sequence));
        job.Wants.Clear();
        return failed;
    }

    private static void SendOwnerGone(IFrameSink? link, ulong owner, ulong sequence, string why) =>
        link?.Send((ushort)ClusterMessageKind.ObjectValue, FrameFlags.NoReply, 0, PayloadWriter.Build((owner, sequence, why), static (w, s) =>
        {
            w.U64(s.owner);
            w.U64(s.sequence);
            ClusterCodec.WriteFailedBody(w, "Ray.ObjectLostException", $"Object {s.owner:x16}{s.sequence:x16} cannot be read: {s.why}.");
        }));
}
