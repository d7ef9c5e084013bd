namespace Ray.Contract.Resources;

/// <summary>
/// The resources a ledger counts, each at a dense index, fixed when the ledger is made (a
/// request for a resource that is not here is infeasible, so nothing is added later).
/// Immutable, so shared freely between threads.
/// </summary>
internal sealed class ResourceNames
{
    /// <summary>CPUs.</summary>
    internal const string Cpu = "CPU";
    /// <summary>GPUs.</summary>
    internal const string Gpu = "GPU";
    /// <summary>Memory for tasks and actors, in bytes.</summary>
    internal const string Memory = "memory";
    /// <summary>The shared-memory object store's capacity, in bytes (a node's, not a task's).</summary>
    internal const string ObjectStoreMemory = "object_store_memory";

    /// <summary>The most resources one ledger may count.</summary>
    internal const int MaxResources = 1024;

    /// <summary>The longest resource name, in characters.</summary>
    internal const int MaxNameLength = 256;

    private readonly string[] _names;
    private readonly Dictionary<string, int> _index;

    /// <summary>The names in index order.</summary>
    /// <exception cref="ArgumentException">A bad or repeated name, or more than <see cref="MaxResources"/>.</exception>
    internal ResourceNames(IEnumerable<string> names)
    {
        ArgumentNullException.ThrowIfNull(names);
        _names = names.ToArray();
        if (_names.Length > MaxResources) throw new ArgumentException($"{_names.Length} resources; at most {MaxResources} may be declared");
        _index = new Dictionary<string, int>(_names.Length, StringComparer.Ordinal);
        for (var i = 0; i < _names.Length; i++)
        {
            ResourceUnits.CheckName(_names[i]);
            if (!_index.TryAdd(_names[i], i)) throw new ArgumentException($"resource '{_names[i]}' is declared twice");
        }
    }

    /// <summary>How many resources.</summary>
    internal int Count => _names.Length;

    /// <summary>The names in index order.</summary>
    internal IReadOnlyList<string> All => _names;

    /// <summary>The name at <paramref name="index"/>.</summary>
    internal string NameOf(int index) => _names[index];

    /// <summary>The index of <paramref name="name"/>, if it is counted here.</summary>
    internal bool TryIndexOf(string name, out int index) => _index.TryGetValue(name, out index);

    /// <summary>A zero amount of every resource.</summary>
    internal ResourceSet Empty() => new(new long[_names.Length]);

    /// <summary>"{CPU: 1, memory: 1024 B}" for logs and errors; zero amounts left out.</summary>
    internal string Format(ResourceSet set)
    {
        var sb = new System.Text.StringBuilder("{");
        for (var i = 0; i < set.Amounts.Length; i++)
        {
            if (set.Amounts[i] == 0) continue;
            if (sb.Length > 1) sb.Append(", ");
            sb.Append(_names[i]).Append(": ").Append(ResourceUnits.Format(_names[i], set.Amounts[i]));
        }
        return sb.Append('}').ToString();
    }
}
