using Ray.Contract.Resources;
using Ray.Contract.Messages;

namespace Ray.Raylet.Node;

/// <summary>
/// The node's resource table: what it has of each resource and what leases hold now, kept in
/// the runtime's one <see cref="ResourceLedger"/> (the type Ray.Core's embedded scheduler uses;
/// fixed point and the amount cap defined once, in Ray.Contract.Resources). Thread-safe: this
/// table's lock guards its ledger.
///
/// Worker leases (<see cref="Leases.LeaseManager"/>) take and give back their resources here, in
/// wire units (<c>NodeResources.Units.cs</c>): a lease request is resolved once against the table
/// (<see cref="ResourceDemand"/>), then acquired all or nothing.
/// </summary>
public sealed partial class NodeResources
{
    /// <summary>CPUs.</summary>
    public const string Cpu = ResourceNames.Cpu;
    /// <summary>GPUs.</summary>
    public const string Gpu = ResourceNames.Gpu;
    /// <summary>Memory for tasks and actors, in bytes.</summary>
    public const string Memory = ResourceNames.Memory;
    /// <summary>The shared-memory object store's capacity, in bytes.</summary>
    public const string ObjectStoreMemory = ResourceNames.ObjectStoreMemory;

    /// <summary>The most resources a node may declare.</summary>
    public const int MaxResources = ResourceNames.MaxResources;

    /// <summary>The longest resource name, in characters.</summary>
    public const int MaxNameLength = ResourceNames.MaxNameLength;

    private readonly object _lock = new();
    private readonly ResourceLedger _ledger; // guarded by _lock (its totals never change)

    /// <summary>A table with the given totals (in the given order) and nothing used.</summary>
    /// <exception cref="ArgumentException">A bad name or amount, a duplicate, or too many resources.</exception>
    public NodeResources(IEnumerable<KeyValuePair<string, double>> totals)
    {
        ArgumentNullException.ThrowIfNull(totals);
        _ledger = ResourceLedger.FromAmounts(totals.ToList());
    }

    /// <summary>
    /// The node's totals from its options: CPU (default: the machine's processors), GPU (default
    /// 0), memory, object_store_memory, then the custom resources sorted by name.
    /// </summary>
    /// <exception cref="ArgumentException">A custom resource named like a built-in one, or a bad name or amount.</exception>
    public static NodeResources Create(int? numCpus, int? numGpus, IReadOnlyDictionary<string, double>? custom, long memoryBytes, long objectStoreBytes)
    {
        if (numCpus < 0) throw new ArgumentException($"--num-cpus must be at least 0, not {numCpus}");
        if (numGpus < 0) throw new ArgumentException($"--num-gpus must be at least 0, not {numGpus}");
        var totals = new List<KeyValuePair<string, double>>
        {
            new(Cpu, numCpus ?? Environment.ProcessorCount),
            new(Gpu, numGpus ?? 0),
            new(Memory, Math.Max(0, memoryBytes)),
            new(ObjectStoreMemory, Math.Max(0, objectStoreBytes)),
        };
        if (custom is not null)
        {
            foreach (var (name, amount) in custom.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                if (name is Cpu or Gpu) throw new ArgumentException($"use --num-{name.ToLowerInvariant()}s, not --resources, to set '{name}'");
                if (name is Memory or ObjectStoreMemory) throw new ArgumentException($"'{name}' is set by the raylet, not by --resources");
                totals.Add(new(name, amount));
            }
        }
        return new NodeResources(totals);
    }

    /// <summary>Resource names in table order.</summary>
    public IReadOnlyList<string> Names => _ledger.Names.All;

    /// <summary>The node's total of <paramref name="name"/> (0 when it has none).</summary>
    public double Total(string name) => _ledger.Names.TryIndexOf(name, out var i) ? ResourceUnits.FromFixed(_ledger.Total.Amounts[i]) : 0;

    /// <summary>What is free of <paramref name="name"/> now (0 when the node has none).</summary>
    public double Available(string name)
    {
        if (!_ledger.Names.TryIndexOf(name, out var i)) return 0;
        lock (_lock) return ResourceUnits.FromFixed(_ledger.Available.Amounts[i]);
    }

    /// <summary>Every resource's total and used amount, in table order.</summary>
    public IReadOnlyList<ResourceUsage> Snapshot()
    {
        var (total, available) = Ledger(l => l.Snapshot());
        var result = new ResourceUsage[total.Amounts.Length];
        for (var i = 0; i < result.Length; i++)
            result[i] = new ResourceUsage(_ledger.Names.NameOf(i), ResourceUnits.FromFixed(total.Amounts[i]), ResourceUnits.FromFixed(total.Amounts[i] - available.Amounts[i]));
        return result;
    }

    /// <summary>
    /// Takes <paramref name="request"/> if all of it is free now (all or nothing). False when
    /// something is short or the node lacks a resource the request names.
    /// </summary>
    /// <exception cref="ArgumentException">A negative, non-finite or too large amount.</exception>
    public bool TryAcquire(IReadOnlyDictionary<string, double> request)
    {
        var set = Resolve(request);
        if (set is null) return false;
        lock (_lock) return _ledger.TryAcquire(set);
    }

    /// <summary>Gives back what an earlier <see cref="TryAcquire(IReadOnlyDictionary{string, double})"/> took.</summary>
    /// <exception cref="InvalidOperationException">More is released than is held: an accounting bug.</exception>
    public void Release(IReadOnlyDictionary<string, double> request)
    {
        var set = Resolve(request) ?? throw new InvalidOperationException("released a resource this node does not have");
        lock (_lock) _ledger.Release(set);
    }

    private T Ledger<T>(Func<ResourceLedger, T> read)
    {
        lock (_lock) return read(_ledger);
    }

    // A request by name in resource units: checked, then resolved against the names (null when
    // it names a resource this node lacks; amounts beyond the totals simply never fit).
    private ResourceSet? Resolve(IReadOnlyDictionary<string, double> request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var amounts = new long[_ledger.Names.Count];
        foreach (var (name, amount) in request)
        {
            ResourceUnits.Check($"resource '{name}'", amount, nameof(request));
            var n = ResourceUnits.ToFixed(amount);
            if (n == 0) continue;
            if (!_ledger.Names.TryIndexOf(name, out var i)) return null;
            amounts[i] += n;
        }
        return new ResourceSet(amounts);
    }
}
