using System.Diagnostics;
using Ray.Serve.Replica;

namespace Ray.Serve.Routing;

/// <summary>One replica as a router sees it: its handle, this router's requests on it, and what the replica last said of its queue.</summary>
internal sealed class ReplicaSlot
{
    // How long a refusal marks a replica full, and how long its reported queue length is trusted.
    private static readonly long s_fullTicks = Stopwatch.Frequency / 500; // 2 ms
    private static readonly long s_reportTicks = Stopwatch.Frequency / 100; // 10 ms

    internal ReplicaSlot(string id, ActorHandle<ReplicaActor> handle)
    {
        Id = id;
        Handle = handle;
        Method = handle.Task((ReplicaActor r, ReplicaCall c) => r.HandleAsync(c));
        SyncMethod = handle.Task((ReplicaActor r, ReplicaCall c) => r.Handle(c));
    }

    internal string Id { get; }
    internal ActorHandle<ReplicaActor> Handle { get; }
    /// <summary>The replica's request method, resolved once.</summary>
    internal ActorMethod<ReplicaActor, ReplicaCall, ReplicaReply> Method { get; }
    /// <summary>The replica's request method for synchronous user methods (run on the actor's threads).</summary>
    internal ActorMethod<ReplicaActor, ReplicaCall, ReplicaReply> SyncMethod { get; }

    internal int InFlight;

    /// <summary>Set when the controller stops this replica on purpose: it refuses new requests while draining, so a call it fails never ran and may go elsewhere.</summary>
    internal volatile bool Retired;
    private int _reported;
    private long _reportedAt;
    private long _fullUntil;

    /// <summary>The queue length used to choose: this router's requests, or the replica's own report when newer and larger; int.MaxValue right after a refusal.</summary>
    internal int Load(long now)
    {
        if (now < Volatile.Read(ref _fullUntil)) return int.MaxValue;
        var local = Volatile.Read(ref InFlight);
        return now - Volatile.Read(ref _reportedAt) < s_reportTicks ? Math.Max(local, Volatile.Read(ref _reported)) : local;
    }

    internal void Report(int ongoing, bool refused)
    {
        var now = Stopwatch.GetTimestamp();
        Volatile.Write(ref _reported, ongoing);
        Volatile.Write(ref _reportedAt, now);
        if (refused) Volatile.Write(ref _fullUntil, now + s_fullTicks);
    }
}
