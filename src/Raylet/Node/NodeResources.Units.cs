using Ray.Contract.Messages;

namespace Ray.Raylet.Node;

public sealed partial class NodeResources
{
    /// <summary>
    /// Resolves a lease request in wire units against this table. Duplicated names are added up;
    /// zero amounts are dropped. Null, with <paramref name="infeasible"/> saying why, when the
    /// node can never fit it: more than its total of something, or a resource it lacks.
    /// </summary>
    internal ResourceDemand? Resolve(IReadOnlyList<ResourceAmount> request, out string? infeasible)
    {
        ArgumentNullException.ThrowIfNull(request);
        infeasible = null;
        var units = new Dictionary<int, long>();
        foreach (var (name, amount) in request)
        {
            if (amount < 0) { infeasible = $"resource '{name}' has a negative amount"; return null; }
            if (amount == 0) continue;
            if (!_index.TryGetValue(name, out var i))
            {
                infeasible = $"this node has no resource '{name}' (asked for {ClusterCodec.FromFixed(amount)}); it has {string.Join(", ", _names)}";
                return null;
            }
            units.TryGetValue(i, out var sum);
            if (amount > long.MaxValue - sum) { infeasible = $"resource '{name}' is asked for more than once, adding up past the largest amount"; return null; }
            units[i] = sum + amount;
        }
        foreach (var (i, n) in units)
        {
            if (n > _total[i])
            {
                infeasible = $"asked for {ClusterCodec.FromFixed(n)} {_names[i]} but this node has {ClusterCodec.FromFixed(_total[i])} in total";
                return null;
            }
        }
        return new ResourceDemand([.. units.OrderBy(kv => kv.Key).Select(kv => (kv.Key, kv.Value))], this);
    }

    /// <summary>True when all of <paramref name="demand"/> is free now.</summary>
    internal bool CanAcquire(ResourceDemand demand)
    {
        Check(demand);
        lock (_lock)
        {
            foreach (var (i, n) in demand.Items) if (_total[i] - _used[i] < n) return false;
        }
        return true;
    }

    /// <summary>Takes <paramref name="demand"/> if all of it is free now (all or nothing).</summary>
    internal bool TryAcquire(ResourceDemand demand)
    {
        Check(demand);
        lock (_lock)
        {
            foreach (var (i, n) in demand.Items) if (_total[i] - _used[i] < n) return false;
            foreach (var (i, n) in demand.Items) _used[i] += n;
        }
        return true;
    }

    /// <summary>Takes <paramref name="demand"/> even if that oversubscribes for a moment (a blocked task resuming, as Ray does).</summary>
    internal void ForceAcquire(ResourceDemand demand)
    {
        Check(demand);
        lock (_lock) foreach (var (i, n) in demand.Items) _used[i] += n;
    }

    /// <summary>Gives back what <see cref="TryAcquire(ResourceDemand)"/> took.</summary>
    /// <exception cref="InvalidOperationException">More is released than is held: an accounting bug.</exception>
    internal void Release(ResourceDemand demand)
    {
        Check(demand);
        lock (_lock)
        {
            foreach (var (i, n) in demand.Items)
                if (_used[i] < n) throw new InvalidOperationException($"released {ClusterCodec.FromFixed(n)} {_names[i]} but only {ClusterCodec.FromFixed(_used[i])} is held");
            foreach (var (i, n) in demand.Items) _used[i] -= n;
        }
    }

    /// <summary>The node's totals in wire units, in table order (for JobAccepted).</summary>
    internal IReadOnlyList<ResourceAmount> TotalUnits()
    {
        var result = new ResourceAmount[_names.Length];
        for (var i = 0; i < _names.Length; i++) result[i] = new ResourceAmount(_names[i], _total[i]);
        return result;
    }

    /// <summary>The name of the resource at a table index.</summary>
    internal string NameAt(int index) => _names[index];

    /// <summary>The node's total of <paramref name="name"/> in wire units (0 when it has none).</summary>
    internal long TotalUnits(string name) => _index.TryGetValue(name, out var i) ? _total[i] : 0;

    private void Check(ResourceDemand demand)
    {
        ArgumentNullException.ThrowIfNull(demand);
        if (!ReferenceEquals(demand.Table, this)) throw new ArgumentException("the demand was resolved against another resource table", nameof(demand));
    }
}

/// <summary>A lease request resolved against one <see cref="NodeResources"/>: (index, units) pairs, nonzero, sorted.</summary>
internal sealed class ResourceDemand((int Index, long Units)[] items, NodeResources table)
{
    /// <summary>The resources asked for, by table index.</summary>
    internal (int Index, long Units)[] Items { get; } = items;

    /// <summary>How much of the named resource this demand asks for, in units.</summary>
    internal long UnitsOf(string name)
    {
        long sum = 0;
        foreach (var (i, n) in Items) if (Table.NameAt(i) == name) sum += n;
        return sum;
    }

    /// <summary>The table the indexes refer to.</summary>
    internal NodeResources Table { get; } = table;

    /// <summary>"CPU 1, GPU 0.5" for logs and errors.</summary>
    public override string ToString() =>
        Items.Length == 0 ? "nothing" : string.Join(", ", Items.Select(x => $"{Table.Names[x.Index]} {ClusterCodec.FromFixed(x.Units)}"));
}
