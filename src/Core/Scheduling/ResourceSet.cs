using System.Text;

namespace Ray.Scheduling;

/// <summary>
/// Amounts of each resource, indexed by <see cref="ResourceRegistry"/>. Fixed point (1/10000
/// of a unit, as Ray does) so fractional requests add and subtract exactly.
/// </summary>
internal sealed class ResourceSet : IEquatable<ResourceSet>
{
    internal const long Unit = 10_000;

    internal ResourceSet(long[] amounts) => Amounts = amounts;

    internal long[] Amounts { get; }

    internal static long ToFixed(double units) => (long)Math.Round(units * Unit);

    internal bool IsZero
    {
        get
        {
            foreach (var a in Amounts) if (a != 0) return false;
            return true;
        }
    }

    /// <summary>True when every amount in <paramref name="request"/> is available here.</summary>
    internal bool Covers(ResourceSet request)
    {
        var r = request.Amounts;
        for (var i = 0; i < r.Length; i++)
            if (r[i] > Amounts[i]) return false;
        return true;
    }

    internal void Subtract(ResourceSet request)
    {
        var r = request.Amounts;
        for (var i = 0; i < r.Length; i++) Amounts[i] -= r[i];
    }

    internal void Add(ResourceSet request)
    {
        var r = request.Amounts;
        for (var i = 0; i < r.Length; i++) Amounts[i] += r[i];
    }

    internal ResourceSet Clone() => new((long[])Amounts.Clone());

    internal string Format(ResourceRegistry registry)
    {
        var sb = new StringBuilder("{");
        for (var i = 0; i < Amounts.Length; i++)
        {
            if (Amounts[i] == 0) continue;
            if (sb.Length > 1) sb.Append(", ");
            sb.Append(registry.NameOf(i)).Append(": ").Append(registry.FormatAmount(i, Amounts[i]));
        }
        return sb.Append('}').ToString();
    }

    /// <inheritdoc />
    public bool Equals(ResourceSet? other) => other is not null && Amounts.AsSpan().SequenceEqual(other.Amounts);

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as ResourceSet);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var h = new HashCode();
        foreach (var a in Amounts) h.Add(a);
        return h.ToHashCode();
    }
}
