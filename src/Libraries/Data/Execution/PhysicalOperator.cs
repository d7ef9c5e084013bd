namespace Ray.Data.Execution;

/// <summary>
/// A physical operator: pulls blocks from its input operator(s) and yields its own output
/// blocks, in order. Pull-based: an operator starts tasks only while its consumer keeps
/// pulling and the execution's budget allows (<see cref="ExecContext.MaySubmit"/>), so a slow
/// consumer stops the whole pipeline instead of filling the store.
/// </summary>
internal abstract class PhysicalOperator
{
    public abstract string Name { get; }

    /// <summary>The operator's output blocks; the consumer disposes each one when done with it.</summary>
    public abstract IAsyncEnumerable<BlockRef> ExecuteAsync(ExecContext ctx, CancellationToken cancellationToken);
}
