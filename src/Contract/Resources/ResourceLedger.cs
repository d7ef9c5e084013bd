namespace Ray.Contract.Resources;

/// <summary>
/// What a node (or an embedded runtime) has of each resource and what is free now, in fixed
/// point. The one ledger of the runtime: the embedded scheduler (Ray.Core's LocalScheduler)
/// grants task leases and actor resources from one, the raylet's node table
/// (NodeResources) grants worker leases from one.
///
/// Not thread-safe: the owner's lock guards every call (both owners already hold one around
/// their queue decisions, so a second lock here would only cost).
///
/// Placement groups sit on top without a second ledger type: reserving a bundle is a
/// <see cref="TryAcquire"/> of its demand on the node's ledger, and the bundle is then a ledger
/// of its own (<c>new ResourceLedger(names, bundleDemand)</c>) that the tasks and actors placed
/// into it acquire from; removing the group releases the demand back to the node.
/// </summary>
internal sealed class ResourceLedger
{
    private readonly ResourceSet _total;
    private readonly ResourceSet _available;

    /// <summary>A ledger with <paramref name="total"/> of each of <paramref name="names"/>, all of it free.</summary>
    /// <exception cref="ArgumentException">The total's length is not the names' count, or an amount is negative or above the cap.</exception>
    internal ResourceLedger(ResourceNames names, ResourceSet total)
    {
        ArgumentNullException.ThrowIfNull(names);
        ArgumentNullException.ThrowIfNull(total);
        if (total.Amounts.Length != names.Count) throw new ArgumentException($"{total.Amounts.Length} totals for {names.Count} resources", nameof(total));
        for (var i = 0; i < names.Count; i++)
        {
            if (total.Amounts[i] is < 0 or > ResourceUnits.MaxUnits)
                throw new ArgumentException($"resource '{names.NameOf(i)}' has total {ResourceUnits.FromFixed(total.Amounts[i])}; totals are at least 0 and at most {ResourceUnits.MaxAmount:0e0}", nameof(total));
        }
        Names = names;
        _total = total.Clone();
        _available = total.Clone();
    }

    /// <summary>
    /// A ledger of named totals in resource units (validated: names, amounts, duplicates).
    /// </summary>
    /// <exception cref="ArgumentException">A bad name or amount, a duplicate, or too many resources.</exception>
    internal static ResourceLedger FromAmounts(IReadOnlyList<KeyValuePair<string, double>> totals)
    {
        ArgumentNullException.ThrowIfNull(totals);
        var names = new ResourceNames(totals.Select(t => t.Key));
        var amounts = new long[names.Count];
        for (var i = 0; i < totals.Count; i++)
        {
            ResourceUnits.Check($"resource '{totals[i].Key}'", totals[i].Value, nameof(totals));
            amounts[i] = ResourceUnits.ToFixed(totals[i].Value);
        }
        return new ResourceLedger(names, new ResourceSet(amounts));
    }

    /// <summary>The resources counted, by index.</summary>
    internal ResourceNames Names { get; }

    /// <summary>The totals. Do not change them.</summary>
    internal ResourceSet Total => _total;

    /// <summary>What is free now (may be below 0 for a moment after <see cref="ForceAcquire"/>). Do not change it.</summary>
    internal ResourceSet Available => _available;

    /// <summary>True when <paramref name="request"/> fits the totals: it can ever be granted.</summary>
    internal bool IsFeasible(ResourceSet request) => _total.Covers(request);

    /// <summary>True when all of <paramref name="request"/> is free now.</summary>
    internal bool CanAcquire(ResourceSet request) => _available.Covers(request);

    /// <summary>Takes <paramref name="request"/> if all of it is free now (all or nothing).</summary>
    internal bool TryAcquire(ResourceSet request)
    {
        if (!_available.Covers(request)) return false;
        _available.Subtract(request);
        return true;
    }

    /// <summary>
    /// Takes <paramref name="request"/> even if that oversubscribes for a moment (a worker
    /// resuming after it was blocked in Get, as Ray does: making it wait could deadlock its caller).
    /// </summary>
    internal void ForceAcquire(ResourceSet request) => _available.Subtract(request);

    /// <summary>Gives back what an acquire took.</summary>
    /// <exception cref="InvalidOperationException">More is given back than was taken: an accounting bug (nothing is changed).</exception>
    internal void Release(ResourceSet request)
    {
        var r = request.Amounts;
        for (var i = 0; i < r.Length; i++)
        {
            if (r[i] > _total.Amounts[i] - _available.Amounts[i])
                throw new InvalidOperationException($"released {ResourceUnits.Format(Names.NameOf(i), r[i])} {Names.NameOf(i)} but only {ResourceUnits.Format(Names.NameOf(i), _total.Amounts[i] - _available.Amounts[i])} is held");
        }
        _available.Add(request);
    }

    /// <summary>Copies of the totals and of what is free now.</summary>
    internal (ResourceSet Total, ResourceSet Available) Snapshot() => (_total.Clone(), _available.Clone());

    /// <summary>
    /// Resolves a request given by name in fixed-point units against these names (duplicates
    /// added up, zeros dropped). Null, with <paramref name="infeasible"/> saying why, when it
    /// can never be granted: a negative amount, a resource not counted here, or more than the total.
    /// </summary>
    internal ResourceSet? Resolve(IEnumerable<KeyValuePair<string, long>> request, out string? infeasible)
    {
        ArgumentNullException.ThrowIfNull(request);
        infeasible = null;
        var amounts = new long[Names.Count];
        foreach (var (name, units) in request)
        {
            if (units < 0) { infeasible = $"resource '{name}' has a negative amount"; return null; }
            if (units == 0) continue;
            if (!Names.TryIndexOf(name, out var i))
            {
                infeasible = $"this node has no resource '{name}' (asked for {ResourceUnits.FromFixed(units)}); it has {string.Join(", ", Names.All)}";
                return null;
            }
            if (units > long.MaxValue - amounts[i]) { infeasible = $"resource '{name}' is asked for more than once, adding up past the largest amount"; return null; }
            amounts[i] += units;
        }
        for (var i = 0; i < amounts.Length; i++)
        {
            if (amounts[i] > _total.Amounts[i])
            {
                infeasible = $"asked for {ResourceUnits.FromFixed(amounts[i])} {Names.NameOf(i)} but this node has {ResourceUnits.FromFixed(_total.Amounts[i])} in total";
                return null;
            }
        }
        return new ResourceSet(amounts);
    }
}
