namespace Ray.Plasma;

/// <summary>A store operation failed; <see cref="Status"/> says why. The store keeps serving others.</summary>
public class PlasmaException(PlasmaStatus status, string message) : Exception(message)
{
    /// <summary>Why it failed.</summary>
    public PlasmaStatus Status { get; } = status;
}

/// <summary>
/// The store has no room for an object even after evicting every unpinned object and spilling
/// every pinned one not in use. Names the sizes involved.
/// </summary>
public sealed class ObjectStoreFullException(long requested, long capacity, long inUse, long largestFree)
    : PlasmaException(PlasmaStatus.StoreFull,
        $"The object store is full: {requested} bytes requested; capacity {capacity} bytes, {inUse} bytes held by objects " +
        $"that are in use (being written or read) and cannot be evicted or spilled, largest free block {largestFree} bytes.")
{
    /// <summary>Bytes the failed create asked for.</summary>
    public long RequestedBytes { get; } = requested;
    /// <summary>The store's capacity.</summary>
    public long CapacityBytes { get; } = capacity;
    /// <summary>Bytes held by objects that could neither be evicted nor spilled.</summary>
    public long InUseBytes { get; } = inUse;
}
