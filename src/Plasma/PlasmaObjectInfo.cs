namespace Ray.Plasma;

/// <summary>Where a sealed object's bytes are in the arena.</summary>
public readonly record struct PlasmaObjectInfo(PlasmaObjectId Id, long DataOffset, long DataSize, uint TypeTag);

/// <summary>A snapshot of the store's counters.</summary>
public sealed record PlasmaStats
{
    /// <summary>Arena bytes.</summary>
    public long CapacityBytes { get; init; }
    /// <summary>Bytes allocated to objects (with headers and alignment).</summary>
    public long UsedBytes { get; init; }
    /// <summary>Objects in the table (in memory or spilled).</summary>
    public int Objects { get; init; }
    /// <summary>Objects spilled to disk now.</summary>
    public int SpilledObjectsNow { get; init; }
    /// <summary>Objects evicted so far.</summary>
    public long Evictions { get; init; }
    /// <summary>Objects spilled so far.</summary>
    public long SpillCount { get; init; }
    /// <summary>Bytes spilled so far.</summary>
    public long SpilledBytes { get; init; }
    /// <summary>Seconds spent spilling.</summary>
    public double SpillSeconds { get; init; }
    /// <summary>Objects restored so far.</summary>
    public long RestoreCount { get; init; }
    /// <summary>Bytes restored so far.</summary>
    public long RestoredBytes { get; init; }
    /// <summary>Seconds spent restoring.</summary>
    public double RestoreSeconds { get; init; }
    /// <summary>Free blocks in the arena (fragmentation).</summary>
    public int FreeBlocks { get; init; }
    /// <summary>The largest object that fits without eviction.</summary>
    public long LargestFreeBlock { get; init; }
}
