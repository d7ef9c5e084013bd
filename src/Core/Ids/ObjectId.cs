namespace Ray;

/// <summary>
/// Identifies an object in the runtime. 16 bytes: the owner (a runtime or worker) and a
/// sequence number unique within that owner, so ids are made without coordination.
/// </summary>
public readonly record struct ObjectId(ulong Owner, ulong Sequence)
{
    /// <summary>The empty id; never names a real object.</summary>
    public static ObjectId Nil => default;

    /// <summary>True when this is <see cref="Nil"/>.</summary>
    public bool IsNil => Owner == 0 && Sequence == 0;

    /// <inheritdoc />
    public override string ToString() => $"{Owner:x16}{Sequence:x16}";
}
