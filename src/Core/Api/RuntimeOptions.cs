using Microsoft.Extensions.Logging;

namespace Ray;

/// <summary>Configuration of an embedded runtime. Every property has a sensible default.</summary>
public sealed record RuntimeOptions
{
    /// <summary>CPUs the scheduler hands out; defaults to <see cref="Environment.ProcessorCount"/>.</summary>
    public double? NumCpus { get; init; }

    /// <summary>GPUs the scheduler hands out; defaults to 0 (the Gpu library detects devices).</summary>
    public double? NumGpus { get; init; }

    /// <summary>Memory in bytes the scheduler hands out; defaults to the machine's available memory.</summary>
    public long? MemoryBytes { get; init; }

    /// <summary>Custom resources, e.g. <c>{ ["accelerator"] = 2 }</c>.</summary>
    public IReadOnlyDictionary<string, double>? Resources { get; init; }

    /// <summary>
    /// Worker threads started up front; defaults to the CPU count (at least 1). The pool grows
    /// when tasks need less than one CPU or block in <c>Get</c>, up to <see cref="MaxWorkers"/>.
    /// </summary>
    public int? NumWorkers { get; init; }

    /// <summary>Upper bound on worker threads; defaults to 64 + 4 x CPUs.</summary>
    public int? MaxWorkers { get; init; }

    /// <summary>
    /// How long an idle worker or a blocked <c>Get</c> spins before it parks. Waking a parked
    /// thread costs tens of microseconds on these VMs, so a short spin keeps round trips cheap.
    /// </summary>
    public TimeSpan SpinBeforePark { get; init; } = TimeSpan.FromMicroseconds(50);

    /// <summary>Logger factory for runtime diagnostics; none by default.</summary>
    public ILoggerFactory? LoggerFactory { get; init; }
}
