namespace Ray.Contract.Resources;

/// <summary>
/// The bundles of one placement group on one node: each bundle is a <see cref="ResourceLedger"/>
/// of its own that tasks and actors placed into it acquire from. Used alike by the embedded
/// scheduler (Ray.Core's LocalScheduler) and the raylet's lease manager.
///
/// Life: the group's whole demand (<see cref="Sum"/>) is taken from the node's ledger in one
/// <see cref="ResourceLedger.TryAcquire"/> (all or nothing), then the bundles are free. On
/// <see cref="Remove"/> what is free in the bundles goes back to the node at once; what holders
/// still hold goes back to the node as they release it (<see cref="Release"/> forwards once
/// removed), so the node's accounting stays exact while removed work winds down.
///
/// Not thread-safe: the owner's lock (the one that guards the node's ledger) guards every call.
/// </summary>
internal sealed class PlacementBundles
{
    private readonly ResourceLedger[] _bundles;
    private long[][]? _debt; // after removal: per bundle, what was oversubscribed and must not reach the node

    /// <summary>Bundles of the given demands over <paramref name="names"/>, nothing held.</summary>
    /// <exception cref="ArgumentException">No bundle, an empty bundle, or a demand of the wrong length.</exception>
    internal PlacementBundles(ResourceNames names, IReadOnlyList<ResourceSet> bundles)
    {
        ArgumentNullException.ThrowIfNull(names);
        ArgumentNullException.ThrowIfNull(bundles);
        if (bundles.Count == 0) throw new ArgumentException("a placement group needs at least one bundle", nameof(bundles));
        _bundles = new ResourceLedger[bundles.Count];
        var sum = new long[names.Count];
        for (var i = 0; i < bundles.Count; i++)
        {
            if (bundles[i].IsZero) throw new ArgumentException($"bundle {i} asks for nothing; each bundle needs some resource", nameof(bundles));
            _bundles[i] = new ResourceLedger(names, bundles[i]);
            for (var k = 0; k < sum.Length; k++) sum[k] = checked(sum[k] + bundles[i].Amounts[k]);
        }
        Sum = new ResourceSet(sum);
    }

    /// <summary>The number of bundles.</summary>
    internal int Count => _bundles.Length;

    /// <summary>What the whole group reserves on its node: every bundle's demand added up.</summary>
    internal ResourceSet Sum { get; }

    /// <summary>True once <see cref="Remove"/> ran: releases go to the node from then on.</summary>
    internal bool Removed { get; private set; }

    /// <summary>True once <see cref="TryReserve"/> took <see cref="Sum"/> from the node: only then can bundles be acquired from.</summary>
    internal bool Reserved { get; private set; }

    /// <summary>Takes the whole group's demand from <paramref name="node"/> if all of it is free (all or nothing).</summary>
    internal bool TryReserve(ResourceLedger node)
    {
        if (Reserved || Removed) return Reserved;
        return Reserved = node.TryAcquire(Sum);
    }

    /// <summary>The demand of bundle <paramref name="index"/>.</summary>
    internal ResourceSet Demand(int index) => _bundles[index].Total;

    /// <summary>Bundle <paramref name="index"/>'s totals and what is free in it now (copies).</summary>
    internal (ResourceSet Total, ResourceSet Available) Snapshot(int index) => _bundles[index].Snapshot();

    /// <summary>
    /// True when <paramref name="request"/> fits bundle <paramref name="index"/>'s totals, or some
    /// bundle's when <paramref name="index"/> is -1: it can ever be granted in this group.
    /// </summary>
    internal bool IsFeasible(int index, ResourceSet request)
    {
        if (index >= 0) return _bundles[index].IsFeasible(request);
        foreach (var b in _bundles) if (b.IsFeasible(request)) return true;
        return false;
    }

    /// <summary>True when <paramref name="request"/> is free now in bundle <paramref name="index"/> (or any, for -1).</summary>
    internal bool CanAcquire(int index, ResourceSet request)
    {
        if (!Reserved || Removed) return false;
        if (index >= 0) return _bundles[index].CanAcquire(request);
        foreach (var b in _bundles) if (b.CanAcquire(request)) return true;
        return false;
    }

    /// <summary>
    /// Takes <paramref name="request"/> from bundle <paramref name="index"/> (or the first bundle
    /// where it is free, for -1). The bundle it came from, or -1 when none had room (or the group is removed).
    /// </summary>
    internal int TryAcquire(int index, ResourceSet request)
    {
        if (!Reserved || Removed) return -1;
        if (index >= 0) return _bundles[index].TryAcquire(request) ? index : -1;
        for (var i = 0; i < _bundles.Length; i++)
            if (_bundles[i].TryAcquire(request)) return i;
        return -1;
    }

    /// <summary>
    /// Takes <paramref name="request"/> back into bundle <paramref name="index"/> even if that
    /// oversubscribes it (a blocked task resuming); from the node once the group is removed.
    /// </summary>
    internal void ForceAcquire(int index, ResourceSet request, ResourceLedger node)
    {
        if (Removed) node.ForceAcquire(request);
        else _bundles[index].ForceAcquire(request);
    }

    /// <summary>Gives back what an acquire from bundle <paramref name="index"/> took; to the node once the group is removed.</summary>
    internal void Release(int index, ResourceSet request, ResourceLedger node)
    {
        if (!Removed)
        {
            _bundles[index].Release(request);
            return;
        }
        var debt = _debt![index];
        var forward = request.Clone();
        for (var i = 0; i < debt.Length; i++)
        {
            var paid = Math.Min(debt[i], forward.Amounts[i]);
            debt[i] -= paid;
            forward.Amounts[i] -= paid;
        }
        node.Release(forward);
    }

    /// <summary>
    /// Marks the group removed and gives what is free in its bundles back to <paramref name="node"/>
    /// (nothing when it was never reserved). Idempotent.
    /// </summary>
    internal void Remove(ResourceLedger node)
    {
        if (Removed) return;
        Removed = true;
        _debt = new long[_bundles.Length][];
        for (var k = 0; k < _bundles.Length; k++)
        {
            // Free now goes back now; held amounts follow through Release as holders let go. A
            // bundle oversubscribed by a resumed task (ForceAcquire) owes the excess: the first
            // releases pay it off rather than give the node more than the group took.
            var free = _bundles[k].Available.Clone();
            _debt[k] = new long[free.Amounts.Length];
            for (var i = 0; i < free.Amounts.Length; i++)
            {
                if (free.Amounts[i] >= 0) continue;
                _debt[k][i] = -free.Amounts[i];
                free.Amounts[i] = 0;
            }
            if (Reserved) node.Release(free);
        }
    }
}
