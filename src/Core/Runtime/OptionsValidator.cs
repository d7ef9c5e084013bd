using System.Globalization;

namespace Ray.Runtime;

/// <summary>
/// Checks the numbers in <see cref="TaskOptions"/>, <see cref="ActorOptions"/> and
/// <see cref="RuntimeOptions"/> once, where they are first used (a task's options are checked when
/// their scheduling class is made, then cached; never per task), in embedded and connected
/// runtimes alike: resource amounts must be finite and not negative (NaN and infinity are named as
/// such: they would otherwise turn into arbitrary fixed-point amounts), and retry and restart
/// counts must be -1 (unlimited) or more.
/// </summary>
internal static class OptionsValidator
{
    /// <summary>The one cap on a resource amount (<see cref="ResourceUnits.MaxAmount"/>).</summary>
    private const double MaxAmount = ResourceUnits.MaxAmount;

    /// <summary>Throws unless every amount is finite, not negative and representable.</summary>
    /// <param name="what">Whose amounts, for the message: "Task Fns.Add", "Actor Counter", "RuntimeOptions".</param>
    /// <param name="cpus">CPUs.</param>
    /// <param name="gpus">GPUs.</param>
    /// <param name="memoryBytes">Memory in bytes.</param>
    /// <param name="custom">Custom resources, or null.</param>
    /// <param name="paramName">The argument named in the exception.</param>
    /// <param name="request">
    /// True for what a task or actor asks for: then an amount above 1 must be whole, as in Ray
    /// (fractions are for sharing one unit: 0.5 GPU, not 1.5).
    /// </param>
    /// <exception cref="ArgumentException">A NaN, infinite, negative or too large amount, or a fractional request above 1 (the message names it and <paramref name="what"/>).</exception>
    internal static void Resources(string what, double cpus, double gpus, long memoryBytes, IReadOnlyDictionary<string, double>? custom, string paramName, bool request = false)
    {
        Amount(what, "NumCpus", cpus, paramName, request);
        Amount(what, "NumGpus", gpus, paramName, request);
        if (memoryBytes < 0)
            throw new ArgumentException(Invariant($"{what}: MemoryBytes is {memoryBytes}; resource amounts must not be negative."), paramName);
        if (memoryBytes > MaxAmount)
            throw new ArgumentException(Invariant($"{what}: MemoryBytes {memoryBytes} is too large (at most {MaxAmount:0e0} bytes)."), paramName);
        if (custom is null) return;
        foreach (var (name, value) in custom) Amount(what, $"resource '{name}'", value, paramName, request);
    }

    /// <summary>Throws unless <paramref name="value"/> is a retry or restart count: -1 (unlimited) or more.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Below -1.</exception>
    internal static void RetryCount(string what, string name, int value, string paramName)
    {
        if (value < -1)
            throw new ArgumentOutOfRangeException(paramName, value,
                Invariant($"{what}: {name} is {value}; use -1 for no limit, 0 for none, or a positive count."));
    }

    private static void Amount(string what, string name, double value, string paramName, bool request)
    {
        if (ResourceUnits.Problem($"{what}: {name}", value) is { } problem) throw new ArgumentException(problem + ".", paramName);
        if (request && value > 1 && value != Math.Floor(value))
            throw new ArgumentException(Invariant($"{what}: {name} is {value}; amounts above 1 must be whole numbers (fractions are for sharing one unit, below 1), as in Ray."), paramName);
    }

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
