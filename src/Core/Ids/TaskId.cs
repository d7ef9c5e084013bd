namespace Ray;

/// <summary>Identifies one submitted task or actor call (retries keep the same id).</summary>
public readonly record struct TaskId(ulong Owner, ulong Sequence)
{
    /// <inheritdoc />
    public override string ToString() => $"task-{Owner:x}-{Sequence:x}";
}
