using System.Globalization;

namespace Ray.Scheduling;

/// <summary>
/// The resources of one runtime (<see cref="ResourceNames"/>: CPU, GPU and memory first, then
/// the custom resources it was given) and how task and actor options become requests
/// (<see cref="ResourceSet"/>) against them. A request for a resource the runtime does not have
/// is infeasible, so nothing is added later.
/// </summary>
internal sealed class ResourceRegistry
{
    internal const string Cpu = ResourceNames.Cpu;
    internal const string Gpu = ResourceNames.Gpu;
    internal const string Memory = ResourceNames.Memory;
    internal const int CpuIndex = 0;

    internal ResourceRegistry(IEnumerable<string> custom)
    {
        var names = new List<string> { Cpu, Gpu, Memory };
        foreach (var c in custom)
        {
            if (names.Contains(c)) continue;
            names.Add(c);
        }
        Names = new ResourceNames(names);
    }

    /// <summary>The names, by index; shared with the scheduler's ledger.</summary>
    internal ResourceNames Names { get; }

    internal int Count => Names.Count;

    internal string NameOf(int index) => Names.NameOf(index);

    internal bool TryIndexOf(string name, out int index) => Names.TryIndexOf(name, out index);

    internal string FormatAmount(int index, long amount) => ResourceUnits.Format(Names.NameOf(index), amount);

    internal string Format(ResourceSet set) => Names.Format(set);

    /// <summary>
    /// Builds a request from amounts by name ("CPU", "GPU", "memory" in bytes, custom ones), as a
    /// placement group's bundles give them; see <see cref="Build(double, double, long, IReadOnlyDictionary{string, double}?, out List{string}?)"/>.
    /// </summary>
    internal ResourceSet Build(IReadOnlyDictionary<string, double> byName, out List<string>? unknown)
    {
        var (cpus, gpus, memory, custom) = Split(byName);
        return Build(cpus, gpus, (long)memory, custom, out unknown);
    }

    /// <summary>Splits amounts by name into CPU, GPU, memory (bytes) and the custom ones.</summary>
    internal static (double Cpus, double Gpus, double Memory, Dictionary<string, double>? Custom) Split(IReadOnlyDictionary<string, double> byName)
    {
        double cpus = 0, gpus = 0, memory = 0;
        Dictionary<string, double>? custom = null;
        foreach (var (key, value) in byName)
        {
            switch (key)
            {
                case Cpu: cpus = value; break;
                case Gpu: gpus = value; break;
                case Memory: memory = value; break;
                default: (custom ??= new(StringComparer.Ordinal))[key] = value; break;
            }
        }
        return (cpus, gpus, memory, custom);
    }

    /// <summary>
    /// Builds a request. Unknown names are returned in <paramref name="unknown"/>: the caller
    /// reports them as unsatisfiable (this runtime has none of them). Amounts were checked by
    /// OptionsValidator (the one rule, <see cref="ResourceUnits.Problem"/>).
    /// </summary>
    internal ResourceSet Build(double cpus, double gpus, long memoryBytes,
        IReadOnlyDictionary<string, double>? custom, out List<string>? unknown)
    {
        unknown = null;
        var amounts = new long[Names.Count];
        amounts[0] = ResourceUnits.ToFixed(cpus);
        amounts[1] = ResourceUnits.ToFixed(gpus);
        amounts[2] = memoryBytes * ResourceUnits.Unit;
        if (custom is not null)
        {
            foreach (var (name, value) in custom)
            {
                if (ResourceUnits.Problem($"Resource '{name}'", value) is { } problem) ExceptionFactory.ThrowArgument(problem + ".", nameof(custom));
                if (value == 0) continue;
                if (TryIndexOf(name, out var i)) amounts[i] += ResourceUnits.ToFixed(value);
                else (unknown ??= new()).Add($"{name}: {value.ToString(CultureInfo.InvariantCulture)}");
            }
        }
        return new ResourceSet(amounts);
    }
}
