namespace Ray.Data;

/// <summary>Execution limits of a dataset (Ray's <c>DataContext.execution_options</c>). Immutable; set with <c>with</c>.</summary>
public sealed record DataOptions
{
    /// <summary>The defaults.</summary>
    public static DataOptions Default { get; } = new();

    /// <summary>
    /// Tasks an operator keeps in flight (running or finished and not yet taken by the next
    /// operator). Default 2 x CPUs, at least 4.
    /// </summary>
    public int MaxTasksInFlightPerOperator { get; init; } = Math.Max(4, 2 * Environment.ProcessorCount);

    /// <summary>
    /// Bytes of blocks produced and not yet consumed, across operators, past which operators
    /// stop starting tasks (back-pressure): a slow consumer never fills the object store.
    /// Default 256 MiB. Each operator may still run one task at a time.
    /// </summary>
    public long MaxBufferedBytes { get; init; } = 256L << 20;

    /// <summary>Most rows per block that in-memory sources (FromItems, Range) make. Default 64 Ki.</summary>
    public int TargetRowsPerBlock { get; init; } = 64 * 1024;

    /// <summary>Read parallelism when a source is not told (blocks for Range and FromItems). Default 2 x CPUs, at least 4.</summary>
    public int DefaultParallelism { get; init; } = Math.Max(4, 2 * Environment.ProcessorCount);
}
