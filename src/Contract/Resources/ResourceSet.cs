namespace Ray.Contract.Resources;

/// <summary>
/// An amount of each resource of one <see cref="ResourceNames"/>, by index, in fixed point
/// (<see cref="ResourceUnits"/>). A request, a total, or what is available. Not thread-safe:
/// its owner's lock guards it.
/// </summary>
internal sealed class ResourceSet : IEquatable<ResourceSet>
{
    internal ResourceSet(long[] amounts) => Amounts = amounts;

    /// <summary>The amounts, by resource index.</summary>
    internal long[] Amounts { get; }

    /// <summary>True when every amount is 0.</summary>
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

    /// <summary>Takes <paramref name="request"/> away (may go below 0: callers check <see cref="Covers"/> first unless oversubscribing on purpose).</summary>
    internal void Subtract(ResourceSet request)
    {
        var r = request.Amounts;
        for (var i = 0; i < r.Length; i++) Amounts[i] -= r[i];
    }

    /// <summary>Adds <paramref name="request"/> back.</summary>
    internal void Add(ResourceSet request)
    {
        var r = request.Amounts;
        for (var i = 0; i < r.Length; i++) Amounts[i] += r[i];
    }

    /// <summary>A copy.</summary>
    internal ResourceSet Clone() => new((long[])Amounts.Clone());

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
