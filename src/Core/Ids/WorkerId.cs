namespace Ray;

/// <summary>Identifies a worker (an in-process worker thread here; a process later).</summary>
public readonly record struct WorkerId(ulong Owner, int Index)
{
    /// <inheritdoc />
    public override string ToString() => $"worker-{Owner:x}-{Index}";
}
