namespace Ray.Plasma;

/// <summary>An object's id in the store: 16 bytes, the same layout as Ray.Core's ObjectId.</summary>
public readonly record struct PlasmaObjectId(ulong Owner, ulong Sequence)
{
    /// <inheritdoc />
    public override string ToString() => $"{Owner:x16}{Sequence:x16}";
}
