using System.Globalization;

namespace Ray.Contract.Resources;

/// <summary>
/// The one fixed-point rule for resource amounts, used by the embedded scheduler, the raylet's
/// node table and the wire: 1/10000 of a unit (as Ray), so fractional requests add and subtract
/// exactly, and one cap on any amount.
/// </summary>
internal static class ResourceUnits
{
    /// <summary>Fixed-point units per resource unit (one CPU, one GPU, one byte of memory).</summary>
    internal const long Unit = 10_000;

    /// <summary>
    /// The largest amount of one resource, in resource units (1e14: 1e18 fixed-point units, so
    /// ten thousand such amounts still add up inside a long). Memory counts in bytes, so this is
    /// 100 TB of it.
    /// </summary>
    internal const double MaxAmount = 1e14;

    /// <summary>The largest amount, in fixed-point units.</summary>
    internal const long MaxUnits = (long)(MaxAmount * Unit);

    /// <summary>
    /// <paramref name="amount"/> in fixed point (rounded to the nearest 1/10000).
    /// Call <see cref="Check"/> first where the amount comes from a user.
    /// </summary>
    internal static long ToFixed(double amount) => (long)Math.Round(amount * Unit);

    /// <summary>A fixed-point amount in resource units.</summary>
    internal static double FromFixed(long units) => units / (double)Unit;

    /// <summary>
    /// Null when <paramref name="amount"/> is a valid amount (finite, at least 0, at most
    /// <see cref="MaxAmount"/>), else why not, naming <paramref name="what"/> ("resource 'CPU'").
    /// </summary>
    internal static string? Problem(string what, double amount)
    {
        if (double.IsNaN(amount)) return $"{what} is NaN; resource amounts must be finite numbers, at least 0";
        if (double.IsInfinity(amount)) return $"{what} is {(amount > 0 ? "+" : "-")}infinity; resource amounts must be finite numbers, at least 0";
        if (amount < 0) return Invariant($"{what} is {amount}; resource amounts must not be negative");
        if (amount > MaxAmount) return Invariant($"{what} is {amount}, too large (at most {MaxAmount:0e0})");
        return null;
    }

    /// <summary>Throws unless <paramref name="amount"/> is valid (see <see cref="Problem"/>).</summary>
    /// <exception cref="ArgumentException">NaN, infinite, negative or above <see cref="MaxAmount"/>.</exception>
    internal static void Check(string what, double amount, string? paramName = null)
    {
        if (Problem(what, amount) is { } problem) throw new ArgumentException(problem, paramName);
    }

    /// <summary>Throws unless <paramref name="name"/> can name a resource: 1-256 characters, no whitespace or control characters.</summary>
    /// <exception cref="ArgumentException">A bad name.</exception>
    internal static void CheckName(string name)
    {
        if (string.IsNullOrEmpty(name)) throw new ArgumentException("a resource name is empty");
        if (name.Length > ResourceNames.MaxNameLength) throw new ArgumentException($"resource name '{name[..32]}...' is longer than {ResourceNames.MaxNameLength} characters");
        foreach (var c in name)
            if (char.IsControl(c) || char.IsWhiteSpace(c))
                throw new ArgumentException($"resource name '{name}' contains whitespace or a control character");
    }

    /// <summary>An amount as the public API shows it: memory in whole bytes, the rest in units (0.5 CPU).</summary>
    internal static double ToAmount(string name, long units) => name == ResourceNames.Memory ? units / Unit : FromFixed(units);

    /// <summary>An amount for people: memory in bytes ("1024 B"), the rest up to 4 decimals ("0.5").</summary>
    internal static string Format(string name, long units) =>
        name == ResourceNames.Memory
            ? (units / Unit).ToString(CultureInfo.InvariantCulture) + " B"
            : FromFixed(units).ToString("0.####", CultureInfo.InvariantCulture);

    private static string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
