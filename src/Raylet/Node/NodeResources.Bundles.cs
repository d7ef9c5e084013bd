using Ray.Contract.Messages;
using Ray.Contract.Resources;

namespace Ray.Raylet.Node;

public sealed partial class NodeResources
{
    // Placement groups: the group's bundles are ledgers of their own (Ray.Contract's
    // PlacementBundles, the type the embedded scheduler uses too) reserved out of, and given
    // back to, this table's ledger; this table's lock guards them as it guards the ledger.

    /// <summary>Bundles of the given demands (each resolved against this table), nothing reserved yet.</summary>
    internal PlacementBundles CreateBundles(IReadOnlyList<ResourceDemand> bundles)
    {
        foreach (var b in bundles) Check(b);
        return new PlacementBundles(_ledger.Names, bundles.Select(b => b.Set).ToList());
    }

    /// <summary>True when the group's whole demand fits the node's totals: it can ever be reserved.</summary>
    internal bool IsFeasible(PlacementBundles group) => _ledger.IsFeasible(group.Sum);

    /// <summary>Reserves the group's whole demand if it is all free now (all or nothing).</summary>
    internal bool TryReserve(PlacementBundles group)
    {
        lock (_lock) return group.TryReserve(_ledger);
    }

    /// <summary>Marks the group removed and gives its free reservation back (held parts follow on release).</summary>
    internal void Remove(PlacementBundles group)
    {
        lock (_lock) group.Remove(_ledger);
    }

    /// <summary>True when <paramref name="demand"/> is free now in bundle <paramref name="bundle"/> (-1: any).</summary>
    internal bool CanAcquire(PlacementBundles group, int bundle, ResourceDemand demand)
    {
        Check(demand);
        lock (_lock) return group.CanAcquire(bundle, demand.Set);
    }

    /// <summary>Takes <paramref name="demand"/> from bundle <paramref name="bundle"/> (-1: the first with room); the bundle, or -1.</summary>
    internal int TryAcquire(PlacementBundles group, int bundle, ResourceDemand demand)
    {
        Check(demand);
        lock (_lock) return group.TryAcquire(bundle, demand.Set);
    }

    /// <summary>Takes <paramref name="demand"/> back into its bundle even if that oversubscribes it (a blocked task resuming).</summary>
    internal void ForceAcquire(PlacementBundles group, int bundle, ResourceDemand demand)
    {
        Check(demand);
        lock (_lock) group.ForceAcquire(bundle, demand.Set, _ledger);
    }

    /// <summary>Gives back what an acquire from bundle <paramref name="bundle"/> took (to the node once the group is removed).</summary>
    internal void Release(PlacementBundles group, int bundle, ResourceDemand demand)
    {
        Check(demand);
        lock (_lock) group.Release(bundle, demand.Set, _ledger);
    }

    /// <summary>Each bundle's resources: its total and what its work holds now.</summary>
    internal IReadOnlyList<IReadOnlyList<ResourceUsage>> Usage(PlacementBundles group)
    {
        var result = new List<IReadOnlyList<ResourceUsage>>(group.Count);
        lock (_lock)
        {
            for (var b = 0; b < group.Count; b++)
            {
                var (total, available) = group.Snapshot(b);
                var list = new List<ResourceUsage>();
                for (var i = 0; i < total.Amounts.Length; i++)
                {
                    if (total.Amounts[i] == 0) continue;
                    var used = group.Reserved && !group.Removed ? total.Amounts[i] - available.Amounts[i] : 0;
                    list.Add(new ResourceUsage(_ledger.Names.NameOf(i), ResourceUnits.FromFixed(total.Amounts[i]), ResourceUnits.FromFixed(used)));
                }
                result.Add(list);
            }
        }
        return result;
    }
}
