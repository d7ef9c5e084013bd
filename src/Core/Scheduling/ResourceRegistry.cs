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
