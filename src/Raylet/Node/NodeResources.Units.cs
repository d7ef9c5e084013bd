using Ray.Contract.Messages;
using Ray.Contract.Resources;

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
        // Resolve reads only the names and the totals, which never change: no lock needed.
        var set = _ledger.Resolve(request.Select(r => new KeyValuePair<string, long>(r.Name, r.Units)), out infeasible);
        return set is null ? null : new ResourceDemand(set, this);
    }

    /// <summary>True when all of <paramref name="demand"/> is free now.</summary>
    internal bool CanAcquire(ResourceDemand demand)
    {
        Check(demand);
        lock (_lock) return _ledger.CanAcquire(demand.Set);
    }

    /// <summary>Takes <paramref name="demand"/> if all of it is free now (all or nothing).</summary>
    internal bool TryAcquire(ResourceDemand demand)
    {
        Check(demand);
        lock (_lock) return _ledger.TryAcquire(demand.Set);
    }

    /// <summary>Takes <paramref name="demand"/> even if that oversubscribes for a moment (a blocked task resuming, as Ray does).</summary>
    internal void ForceAcquire(ResourceDemand demand)
    {
        Check(demand);
        lock (_lock) _ledger.ForceAcquire(demand.Set);
    }

    /// <summary>Gives back what <see cref="TryAcquire(ResourceDemand)"/> took.</summary>
    /// <exception cref="InvalidOperationException">More is released than is held: an accounting bug.</exception>
    internal void Release(ResourceDemand demand)
    {
        Check(demand);
        lock (_lock) _ledger.Release(demand.Set);
    }

    /// <summary>The node's totals in wire units, in table order (for JobAccepted).</summary>
    internal IReadOnlyList<ResourceAmount> TotalUnits()
    {
        var result = new ResourceAmount[_ledger.Names.Count];
        for (var i = 0; i < result.Length; i++) result[i] = new ResourceAmount(_ledger.Names.NameOf(i), _ledger.Total.Amounts[i]);
        return result;
    }

    /// <summary>The name of the resource at a table index.</summary>
    internal string NameAt(int index) => _ledger.Names.NameOf(index);

    /// <summary>The node's total of <paramref name="name"/> in wire units (0 when it has none).</summary>
    internal long TotalUnits(string name) => _ledger.Names.TryIndexOf(name, out var i) ? _ledger.Total.Amounts[i] : 0;

    /// <summary>"CPU 1, GPU 0.5" for logs and errors.</summary>
    internal string Format(ResourceSet set)
    {
        var parts = new List<string>();
        for (var i = 0; i < set.Amounts.Length; i++)
            if (set.Amounts[i] != 0) parts.Add($"{NameAt(i)} {ResourceUnits.FromFixed(set.Amounts[i])}");
        return parts.Count == 0 ? "nothing" : string.Join(", ", parts);
    }

    private void Check(ResourceDemand demand)
    {
        ArgumentNullException.ThrowIfNull(demand);
        if (!ReferenceEquals(demand.Table, this)) throw new ArgumentException("the demand was resolved against another resource table", nameof(demand));
    }
}

/// <summary>A lease request resolved against one <see cref="NodeResources"/>: an amount of each of its resources.</summary>
internal sealed class ResourceDemand(ResourceSet set, NodeResources table)
{
    /// <summary>The amounts asked for, by the table's resource index.</summary>
    internal ResourceSet Set { get; } = set;

    /// <summary>How much of the named resource this demand asks for, in units.</summary>
    internal long UnitsOf(string name)
    {
        for (var i = 0; i < Set.Amounts.Length; i++) if (Table.NameAt(i) == name) return Set.Amounts[i];
        return 0;
    }

    /// <summary>The table the indexes refer to.</summary>
    internal NodeResources Table { get; } = table;

    /// <summary>"CPU 1, GPU 0.5" for logs and errors.</summary>
    public override string ToString() => Table.Format(Set);
}
