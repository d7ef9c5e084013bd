namespace Ray.Serve;

/// <summary>
/// Dynamic batching (Ray Serve's <c>@serve.batch</c>): marks a method taking an array and
/// returning an array of results in the same order (<c>Task&lt;TR[]&gt; M(TA[] items)</c> or
/// <c>TR[] M(TA[] items)</c>). Callers send one item each; the replica gathers up to
/// <see cref="MaxBatchSize"/> items, waiting at most <see cref="BatchWaitTimeoutMs"/> after the
/// first, and runs one batch at a time.
/// </summary>
[AttributeUsage(AttributeTargets.Method, Inherited = true)]
public sealed class BatchAttribute : Attribute
{
    /// <param name="maxBatchSize">Most items in a batch (Ray's default 10).</param>
    /// <param name="batchWaitTimeoutMs">How long a batch waits to fill after its first item, in milliseconds (Ray's default 10).</param>
    public BatchAttribute(int maxBatchSize = 10, double batchWaitTimeoutMs = 10)
    {
        if (maxBatchSize < 1) throw new ArgumentOutOfRangeException(nameof(maxBatchSize), "a batch holds at least one item");
        if (batchWaitTimeoutMs < 0) throw new ArgumentOutOfRangeException(nameof(batchWaitTimeoutMs), "the wait cannot be negative");
        MaxBatchSize = maxBatchSize;
        BatchWaitTimeoutMs = batchWaitTimeoutMs;
    }

    /// <summary>Most items in a batch.</summary>
    public int MaxBatchSize { get; }

    /// <summary>How long a batch waits to fill after its first item, in milliseconds.</summary>
    public double BatchWaitTimeoutMs { get; }
}
