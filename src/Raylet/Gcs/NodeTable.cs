using System.Diagnostics;
using Ray.Contract.Messages;

namespace Ray.Raylet.Gcs;

/// <summary>
/// The head's table of the cluster's nodes (the GCS node table): the head itself, and each
/// raylet that joined with RegisterNode. A joined node reports itself (resources and their use)
/// with a heartbeat every second; one not heard from within <see cref="Timeout"/>, or whose
/// connection closed, is marked dead (it stays listed as dead, as in Ray's node table; a node
/// that registers again under the same id is alive again).
/// </summary>
internal sealed class NodeTable(TimeSpan timeout, Func<NodeStatus> self)
{
    private readonly object _lock = new();
    private readonly Dictionary<string, Entry> _nodes = new(StringComparer.Ordinal);

    private sealed class Entry(NodeStatus status)
    {
        internal NodeStatus Status { get; set; } = status;
        internal long LastHeard { get; set; } = Stopwatch.GetTimestamp();
        internal object? Connection { get; set; }
    }

    /// <summary>How long a node may stay silent before it is marked dead.</summary>
    internal TimeSpan Timeout { get; } = timeout;

    /// <summary>A node joined (or joined again) on <paramref name="connection"/>.</summary>
    /// <exception cref="InvalidOperationException">The id is the head's own, or a live node's on another connection.</exception>
    internal void Register(NodeStatus node, object connection)
    {
        if (node.NodeId == self().NodeId) throw new InvalidOperationException($"node {node.NodeId} is the head itself");
        lock (_lock)
        {
            if (_nodes.TryGetValue(node.NodeId, out var known) && known.Status.Alive && known.Connection is { } other && !ReferenceEquals(other, connection))
                throw new InvalidOperationException($"node {node.NodeId} is already registered and alive at {known.Status.Address}");
            _nodes[node.NodeId] = new Entry(node with { IsHead = false, Alive = true }) { Connection = connection };
        }
    }

    /// <summary>A registered node's heartbeat; false when the node is unknown on that connection (not registered there).</summary>
    internal bool Heartbeat(NodeStatus node, object connection)
    {
        lock (_lock)
        {
            if (!_nodes.TryGetValue(node.NodeId, out var e) || !ReferenceEquals(e.Connection, connection)) return false;
            e.Status = node with { IsHead = false, Alive = true };
            e.LastHeard = Stopwatch.GetTimestamp();
            return true;
        }
    }

    /// <summary>A node's connection closed: the node is dead.</summary>
    internal void Disconnected(object connection)
    {
        lock (_lock)
            foreach (var e in _nodes.Values)
                if (ReferenceEquals(e.Connection, connection))
                {
                    e.Status = e.Status with { Alive = false };
                    e.Connection = null;
                }
    }

    /// <summary>Marks nodes silent for longer than <see cref="Timeout"/> dead; returns their ids.</summary>
    internal List<string> Sweep()
    {
        var now = Stopwatch.GetTimestamp();
        var limit = (long)(Timeout.TotalSeconds * Stopwatch.Frequency);
        var dead = new List<string>();
        lock (_lock)
            foreach (var (id, e) in _nodes)
                if (e.Status.Alive && now - e.LastHeard > limit)
                {
                    e.Status = e.Status with { Alive = false };
                    dead.Add(id);
                }
        return dead;
    }

    /// <summary>Every node, the head first.</summary>
    internal List<NodeStatus> Snapshot()
    {
        var list = new List<NodeStatus> { self() };
        lock (_lock) list.AddRange(_nodes.Values.Select(e => e.Status).OrderBy(n => n.NodeId, StringComparer.Ordinal));
        return list;
    }
}
