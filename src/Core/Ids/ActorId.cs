namespace Ray;

/// <summary>Identifies an actor for its whole life, across handle copies.</summary>
public readonly record struct ActorId(ulong Owner, ulong Sequence)
{
    /// <inheritdoc />
    public override string ToString() => $"actor-{Owner:x}-{Sequence:x}";
}
