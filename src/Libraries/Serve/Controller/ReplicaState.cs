using Ray.Serve.Replica;

namespace Ray.Serve.Controller;

/// <summary>Where a replica is in its life, as the controller tracks it.</summary>
internal enum ReplicaPhase
{
    /// <summary>Created; its constructor may still run. Not routed to.</summary>
    Starting,
    /// <summary>Ready and routed to.</summary>
    Running,
    /// <summary>Taken out of routing; draining its requests, then terminated.</summary>
    Stopping,
}

/// <summary>The controller's record of one replica actor.</summary>
internal sealed class ReplicaState(string id, ActorHandle<ReplicaActor> handle, string version, ObjectRef<int> ready)
{
    internal string Id { get; } = id;
    internal ActorHandle<ReplicaActor> Handle { get; } = handle;
    internal string Version { get; } = version;
    internal ObjectRef<int> Ready { get; } = ready;
    internal ReplicaPhase Phase { get; set; } = ReplicaPhase.Starting;
    internal int Pid { get; set; }
    internal DateTime StartedAt { get; } = DateTime.UtcNow;

    internal ObjectRef<bool>? Health { get; set; }
    internal DateTime HealthSentAt { get; set; }
    internal DateTime NextHealthAt { get; set; }
    internal int HealthFailures { get; set; }

    internal ObjectRef<ReplicaStats>? StatsRef { get; set; }
    internal ReplicaStats? LastStats { get; set; }

    internal Task? Stopped { get; set; }

    /// <summary>Connected mode: per dependency key, the replica ids whose handles were pushed here, and the members last pushed.</summary>
    internal Dictionary<string, (HashSet<string> Known, string Members)> Pushed { get; } = new(StringComparer.Ordinal);
}
