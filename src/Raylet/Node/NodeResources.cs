using Ray.Contract.Messages;

namespace Ray.Raylet.Node;

/// <summary>
/// The node's resource table: what it has of each resource and what leases hold now, in fixed
/// point (1/10000 unit, as Ray and Ray.Core). Thread-safe.
///
/// Worker leases (<see cref="Leases.LeaseManager"/>) take and give back their resources here, in
/// wire units (<c>NodeResources.Units.cs</c>): a lease request is resolved once against the table
/// (<see cref="ResourceDemand"/>), then acquired all or nothing. Ray.Core's LocalScheduler stays
/// the embedded runtime's; the raylet grants whole-worker leases, not tasks, so it needs only
/// this table.
/// </summary>
public sealed partial class NodeResources
{
    /// <summary>CPUs.</summary>
    public const string Cpu = "CPU";
    /// <summary>GPUs.</summary>
    public const string Gpu = "GPU";
    /// <summary>Memory for tasks and actors, in bytes.</summary>
    public const string Memory = "memory";
    /// <summary>The shared-memory object store's capacity, in bytes.</summary>
    public const string ObjectStoreMemory = "object_store_memory";

    /// <summary>The most resources a node may declare.</summary>
    public const int MaxResources = 1024;

    /// <summary>The longest resource name, in characters.</summary>
    public const int MaxNameLength = 256;

    private readonly object _lock = new();
    private readonly string[] _names;
    private readonly Dictionary<string, int> _index;
    private readonly long[] _total;
    private readonly long[] _used;

    /// <summary>A table with the given totals (in the given order) and nothing used.</summary>
    /// <exception cref="ArgumentException">A bad name or amount, a duplicate, or too many resources.</exception>
    public NodeResources(IEnumerable<KeyValuePair<string, double>> totals)
    {
        ArgumentNullException.ThrowIfNull(totals);
        var list = totals.ToList();
        if (list.Count > MaxResources) throw new ArgumentException($"{list.Count} resources; a node may declare at most {MaxResources}", nameof(totals));
        _names = new string[list.Count];
        _index = new Dictionary<string, int>(list.Count, StringComparer.Ordinal);
        _total = new long[list.Count];
        _used = new long[list.Count];
        for (var i = 0; i < list.Count; i++)
        {
            var (name, amount) = (list[i].Key, list[i].Value);
            ValidateName(name);
            if (!_index.TryAdd(name, i)) throw new ArgumentException($"resource '{name}' is declared twice", nameof(totals));
            _names[i] = name;
            _total[i] = ToUnits(name, amount);
        }
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
    public IReadOnlyList<string> Names => _names;

    /// <summary>The node's total of <paramref name="name"/> (0 when it has none).</summary>
    public double Total(string name) => _index.TryGetValue(name, out var i) ? ClusterCodec.FromFixed(_total[i]) : 0;

    /// <summary>What is free of <paramref name="name"/> now (0 when the node has none).</summary>
    public double Available(string name)
    {
        if (!_index.TryGetValue(name, out var i)) return 0;
        lock (_lock) return ClusterCodec.FromFixed(_total[i] - _used[i]);
    }

    /// <summary>Every resource's total and used amount, in table order.</summary>
    public IReadOnlyList<ResourceUsage> Snapshot()
    {
        var result = new ResourceUsage[_names.Length];
        lock (_lock)
        {
            for (var i = 0; i < _names.Length; i++)
                result[i] = new ResourceUsage(_names[i], ClusterCodec.FromFixed(_total[i]), ClusterCodec.FromFixed(_used[i]));
        }
        return result;
    }

    /// <summary>
    /// Takes <paramref name="request"/> if all of it is free now (all or nothing). False when
    /// something is short or the node lacks a resource the request names.
    /// </summary>
    /// <exception cref="ArgumentException">A negative or non-finite amount.</exception>
    public bool TryAcquire(IReadOnlyDictionary<string, double> request)
    {
        var units = Resolve(request);
        if (units is null) return false;
        lock (_lock)
        {
            foreach (var (i, n) in units)
                if (_total[i] - _used[i] < n) return false;
            foreach (var (i, n) in units) _used[i] += n;
        }
        return true;
    }

    /// <summary>Gives back what an earlier <see cref="TryAcquire(IReadOnlyDictionary{string, double})"/> took.</summary>
    /// <exception cref="InvalidOperationException">More is released than is held: an accounting bug.</exception>
    public void Release(IReadOnlyDictionary<string, double> request)
    {
        var units = Resolve(request) ?? throw new InvalidOperationException("released a resource this node does not have");
        lock (_lock)
        {
            foreach (var (i, n) in units)
                if (_used[i] < n) throw new InvalidOperationException($"released {ClusterCodec.FromFixed(n)} {_names[i]} but only {ClusterCodec.FromFixed(_used[i])} is held");
            foreach (var (i, n) in units) _used[i] -= n;
        }
    }

    private List<(int Index, long Units)>? Resolve(IReadOnlyDictionary<string, double> request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var units = new List<(int, long)>(request.Count);
        foreach (var (name, amount) in request)
        {
            var n = ToUnits(name, amount);
            if (n == 0) continue;
            if (!_index.TryGetValue(name, out var i)) return null;
            units.Add((i, n));
        }
        return units;
    }

    private static long ToUnits(string name, double amount)
    {
        if (!double.IsFinite(amount) || amount < 0 || amount > 1e14)
            throw new ArgumentException($"resource '{name}' has amount {amount}; amounts are finite, at least 0 and at most 1e14");
        return ClusterCodec.ToFixed(amount);
    }

    private static void ValidateName(string name)
    {
        if (string.IsNullOrEmpty(name)) throw new ArgumentException("a resource name is empty");
        if (name.Length > MaxNameLength) throw new ArgumentException($"resource name '{name[..32]}...' is longer than {MaxNameLength} characters");
        foreach (var c in name)
            if (char.IsControl(c) || char.IsWhiteSpace(c))
                throw new ArgumentException($"resource name '{name}' contains whitespace or a control character");
    }
}
