using System.Globalization;

namespace Ray.Scheduling;

/// <summary>
/// Maps resource names to dense indices for one runtime. Fixed when the runtime starts:
/// CPU, GPU and memory first, then the custom resources the runtime was given. A request
/// for a resource the runtime does not have is infeasible, so nothing is added later.
/// </summary>
internal sealed class ResourceRegistry
{
    internal const string Cpu = "CPU";
    internal const string Gpu = "GPU";
    internal const string Memory = "memory";
    internal const int CpuIndex = 0;

    private readonly string[] _names;
    private readonly Dictionary<string, int> _index;

    internal ResourceRegistry(IEnumerable<string> custom)
    {
        var names = new List<string> { Cpu, Gpu, Memory };
        foreach (var c in custom)
        {
            if (names.Contains(c)) continue;
            names.Add(c);
        }
        _names = names.ToArray();
        _index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < _names.Length; i++) _index[_names[i]] = i;
    }

    internal int Count => _names.Length;

    internal string NameOf(int index) => _names[index];

    internal bool TryIndexOf(string name, out int index) => _index.TryGetValue(name, out index);

    internal string FormatAmount(int index, long amount) =>
        _names[index] == Memory
            ? (amount / ResourceSet.Unit).ToString(CultureInfo.InvariantCulture) + " B"
            : (amount / (double)ResourceSet.Unit).ToString("0.####", CultureInfo.InvariantCulture);

    /// <summary>
    /// Builds a request. Unknown names are returned in <paramref name="unknown"/>: the caller
    /// reports them as unsatisfiable (this runtime has none of them).
    /// </summary>
    internal ResourceSet Build(double cpus, double gpus, long memoryBytes,
        IReadOnlyDictionary<string, double>? custom, out List<string>? unknown)
    {
        unknown = null;
        var amounts = new long[_names.Length];
        amounts[0] = ResourceSet.ToFixed(cpus);
        amounts[1] = ResourceSet.ToFixed(gpus);
        amounts[2] = memoryBytes * ResourceSet.Unit;
        if (custom is not null)
        {
            foreach (var (name, value) in custom)
            {
                if (!(value >= 0) || double.IsInfinity(value))
                    ExceptionFactory.ThrowArgument($"Resource '{name}' must be a finite amount, at least 0, got {value}.", nameof(custom));
                if (value == 0) continue;
                if (TryIndexOf(name, out var i)) amounts[i] += ResourceSet.ToFixed(value);
                else (unknown ??= new()).Add($"{name}: {value.ToString(CultureInfo.InvariantCulture)}");
            }
        }
        return new ResourceSet(amounts);
    }
}
