namespace Ray;

/// <summary>A snapshot of the runtime's counters, as from <c>ray status</c> and <c>ray memory</c>.</summary>
public sealed record RuntimeStats
{
    /// <summary>Tasks and actor calls submitted.</summary>
    public long TasksSubmitted { get; init; }
    /// <summary>Tasks and actor calls that finished with a value.</summary>
    public long TasksFinished { get; init; }
    /// <summary>Tasks and actor calls that failed (after retries).</summary>
    public long TasksFailed { get; init; }
    /// <summary>Retries made.</summary>
    public long TasksRetried { get; init; }
    /// <summary>Tasks cancelled.</summary>
    public long TasksCancelled { get; init; }
    /// <summary>Tasks queued and ready to run now.</summary>
    public int TasksQueued { get; init; }
    /// <summary>Objects created (puts and task results).</summary>
    public long ObjectsCreated { get; init; }
    /// <summary>Objects freed because no reference was left.</summary>
    public long ObjectsFreed { get; init; }
    /// <summary>Objects alive now (created minus freed).</summary>
    public long ObjectsLive => ObjectsCreated - ObjectsFreed;
    /// <summary>Bytes held by live serialized objects.</summary>
    public long ObjectBytesLive { get; init; }
    /// <summary>Bytes allocated in the shared-memory store (0 until the first large object).</summary>
    public long SharedMemoryUsedBytes { get; init; }
    /// <summary>Objects in the shared-memory store.</summary>
    public int SharedMemoryObjects { get; init; }
    /// <summary>Bytes spilled to disk so far.</summary>
    public long SpilledBytes { get; init; }
    /// <summary>Bytes restored from disk so far.</summary>
    public long RestoredBytes { get; init; }
    /// <summary>Actors alive now.</summary>
    public int ActorsAlive { get; init; }
    /// <summary>Task worker threads.</summary>
    public int Workers { get; init; }
    /// <summary>Workers blocked in Get (their resources lent back).</summary>
    public int WorkersBlocked { get; init; }
    /// <summary>Total resources.</summary>
    public IReadOnlyDictionary<string, double> ResourcesTotal { get; init; } = new Dictionary<string, double>();
    /// <summary>Resources free now.</summary>
    public IReadOnlyDictionary<string, double> ResourcesAvailable { get; init; } = new Dictionary<string, double>();

    /// <inheritdoc />
    public override string ToString() =>
        $"tasks: {TasksSubmitted} submitted, {TasksFinished} finished, {TasksFailed} failed, {TasksRetried} retried, " +
        $"{TasksCancelled} cancelled, {TasksQueued} queued | objects: {ObjectsCreated} created, {ObjectsFreed} freed, " +
        $"{ObjectsLive} live ({ObjectBytesLive} B; shared memory {SharedMemoryObjects} objects, {SharedMemoryUsedBytes} B, " +
        $"spilled {SpilledBytes} B, restored {RestoredBytes} B) | actors: {ActorsAlive} | workers: {Workers} ({WorkersBlocked} blocked) | " +
        $"resources available: {Format(ResourcesAvailable)} of {Format(ResourcesTotal)}";

    private static string Format(IReadOnlyDictionary<string, double> r) =>
        "{" + string.Join(", ", r.Where(kv => kv.Value != 0).Select(kv => $"{kv.Key}: {kv.Value:0.####}")) + "}";
}
