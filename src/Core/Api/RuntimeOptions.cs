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

    /// <summary>
    /// Objects whose serialized size is at least this go to the shared-memory object store
    /// (Plasma); smaller ones stay inline in the owner's memory. Default 100 KiB, as Ray.
    /// </summary>
    public long LargeObjectThresholdBytes { get; init; } = 100 * 1024;

    /// <summary>
    /// Shared-memory store capacity; default 30 % of memory capped at 2 GiB (an embedded
    /// runtime should not take a third of the machine unasked). Created on the first large object.
    /// </summary>
    public long? ObjectStoreMemoryBytes { get; init; }

    /// <summary>
    /// When the store's pages are faulted in. <c>Background</c> (default) creates the store on
    /// the first large object and faults pages in behind it; <c>Eager</c> creates it when the
    /// runtime starts and faults every page first (start-up pays once, every large put is at
    /// memcpy speed); <c>None</c> leaves it to first touch (about 0.5 GB/s here).
    /// </summary>
    public Ray.Plasma.Store.PrefaultMode ObjectStorePrefault { get; init; } = Ray.Plasma.Store.PrefaultMode.Background;

    /// <summary>Directory of the store's memory-mapped file; default /dev/shm.</summary>
    public string? ObjectStoreDirectory { get; init; }

    /// <summary>Directory where the store spills objects when full of pinned ones; default under the temp directory.</summary>
    public string? SpillDirectory { get; init; }

    /// <summary>
    /// Connected drivers: print what this job's worker processes write to stdout and stderr on
    /// this process's stdout and stderr, each line prefixed <c>(name pid=N)</c> with the task or
    /// actor that wrote it (Ray's <c>log_to_driver</c>). Default true; the lines stay in the
    /// session's log files either way (<c>ray logs</c>).
    /// </summary>
    public bool LogToDriver { get; init; } = true;

    /// <summary>
    /// Ray's out-of-scope actors: an actor ends (after the calls already sent, its name freed)
    /// once every handle to it in this process has been collected, unless it is detached or its
    /// handle was sent to another process. Off by default: in optimized .NET code a local's
    /// handle may be collected right after its last use (Python keeps it to the end of its
    /// scope), so an actor still wanted by name, or for the resources it holds, could end early.
    /// Turn it on and keep handles in fields (or <see cref="GC.KeepAlive"/>) for as long as the
    /// actors should live.
    /// </summary>
    public bool EndActorsWithoutHandles { get; init; }

    /// <summary>Logger factory for runtime diagnostics; none by default.</summary>
    public ILoggerFactory? LoggerFactory { get; init; }

    /// <summary>
    /// The namespace named actors are made and looked up in (Ray's <c>namespace</c>); in a cluster,
    /// every driver of a namespace sees its named actors. Null (default): an anonymous namespace
    /// of this runtime's own, as Ray gives each job.
    /// </summary>
    public string? Namespace { get; init; }

    /// <summary>
    /// The job's runtime environment: variables and a working directory every task and actor of
    /// the job runs with in worker processes (see <see cref="Ray.RuntimeEnv"/>). An embedded
    /// runtime sets the variables on this process at start and refuses a working directory.
    /// </summary>
    public RuntimeEnv? RuntimeEnv { get; init; }
}
