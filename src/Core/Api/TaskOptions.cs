namespace Ray;

/// <summary>Per-task options, as Ray's <c>.options(...)</c>. Immutable; reuse instances freely.</summary>
public sealed record TaskOptions
{
    /// <summary>The defaults: 1 CPU, 3 retries on system failures, no retry on exceptions.</summary>
    public static TaskOptions Default { get; } = new();

    /// <summary>CPUs the task holds while it runs (fractions allowed). Default 1.</summary>
    public double NumCpus { get; init; } = 1;

    /// <summary>GPUs the task holds while it runs (fractions allowed). Default 0.</summary>
    public double NumGpus { get; init; }

    /// <summary>Memory in bytes the task reserves while it runs. Default 0.</summary>
    public long MemoryBytes { get; init; }

    /// <summary>Custom resources the task holds while it runs.</summary>
    public IReadOnlyDictionary<string, double>? Resources { get; init; }

    /// <summary>
    /// Retries after a system failure (the worker died). Default 3, as in Ray; -1: without limit.
    /// Below -1 is refused with <see cref="ArgumentOutOfRangeException"/> when the task is submitted.
    /// </summary>
    public int MaxRetries { get; init; } = 3;

    /// <summary>
    /// Also retry (up to <see cref="MaxRetries"/>) when user code throws. Off by default, as in Ray.
    /// </summary>
    public bool RetryExceptions { get; init; }

    /// <summary>
    /// Retry only when the thrown exception is one of these types (or derives from one);
    /// implies <see cref="RetryExceptions"/>.
    /// </summary>
    public IReadOnlyList<Type>? RetryExceptionTypes { get; init; }

    /// <summary>A display name for errors and statistics; defaults to <c>Type.Method</c>.</summary>
    public string? Name { get; init; }

    /// <summary>
    /// Environment variables and a working directory this task's code runs with in its worker
    /// process, merged over the job's (<see cref="RuntimeOptions.RuntimeEnv"/>); see
    /// <see cref="Ray.RuntimeEnv"/>. Refused by an embedded runtime.
    /// </summary>
    public RuntimeEnv? RuntimeEnv { get; init; }

    /// <summary>
    /// Where the task runs: null (default) anywhere with room, or a
    /// <see cref="PlacementGroupSchedulingStrategy"/> to hold its resources out of a placement
    /// group's bundle. Checked at submission: a request that fits no bundle is refused.
    /// </summary>
    public SchedulingStrategy? SchedulingStrategy { get; init; }

    /// <summary>Whether an exception of this type name, thrown in a worker process, is retried.</summary>
    internal bool ShouldRetryRemote(string typeName)
    {
        if (RetryExceptionTypes is { Count: > 0 } types)
        {
            foreach (var t in types) if (RemoteExceptions.IsA(typeName, t)) return true;
            return false;
        }
        return RetryExceptions;
    }

    internal bool ShouldRetry(Exception e)
    {
        if (RetryExceptionTypes is { Count: > 0 } types)
        {
            foreach (var t in types) if (t.IsInstanceOfType(e)) return true;
            return false;
        }
        return RetryExceptions;
    }

    /// <summary>
    /// How many refs the task gives (Ray's <c>num_returns</c>): unset for what the call shape says;
    /// when set it must match it (1 for <c>Remote</c>, the tuple's arity for <c>RemoteMulti</c>; a
    /// stream, <c>RemoteStream</c>, has no fixed count). Below 1 is refused when the task is submitted.
    /// </summary>
    public int? NumReturns { get; init; }

    /// <summary>
    /// For a streaming task (<c>RemoteStream</c>, Ray's <c>_generator_backpressure_num_objects</c>): at
    /// most this many items produced and not yet taken by the consumer; the generator pauses before
    /// its next item until the consumer takes one. 0 (the default): no bound, as in Ray (a bound
    /// would stall a consumer that waits for the whole stream before it reads). Below 0 is refused.
    /// </summary>
    public int GeneratorBackpressureItems { get; init; }
}
