namespace Ray.Plasma;

/// <summary>A store operation failed; <see cref="Status"/> says why. The store keeps serving others.</summary>
public class PlasmaException(PlasmaStatus status, string message) : Exception(message)
{
    /// <summary>Why it failed.</summary>
    public PlasmaStatus Status { get; } = status;
}

/// <summary>
/// The store has no room for an object even after evicting every unpinned object and spilling
/// every pinned one not in use, or spilling failed (the spill disk is full). Names the sizes
/// involved, and why spilling failed when it did.
/// </summary>
public sealed class ObjectStoreFullException : PlasmaException
{
    /// <summary>Nothing more could be evicted or spilled.</summary>
    public ObjectStoreFullException(long requested, long capacity, long inUse, long largestFree)
        : this(requested, capacity, inUse, largestFree, null) { }

    /// <summary>
    /// Spilling to make room failed (<paramref name="spillFailure"/> says why, e.g. no space
    /// left on the spill disk); with null, nothing more could be evicted or spilled.
    /// </summary>
    public ObjectStoreFullException(long requested, long capacity, long inUse, long largestFree, string? spillFailure)
        : base(PlasmaStatus.StoreFull, spillFailure is null
            ? $"The object store is full: {requested} bytes requested; capacity {capacity} bytes, {inUse} bytes held by objects " +
              $"that are in use (being written or read) and cannot be evicted or spilled, largest free block {largestFree} bytes."
            : $"The object store is full: {requested} bytes requested; capacity {capacity} bytes, {inUse} bytes in memory, " +
              $"largest free block {largestFree} bytes; spilling objects to disk to make room failed: {spillFailure}")
    {
        RequestedBytes = requested;
        CapacityBytes = capacity;
        InUseBytes = inUse;
        SpillFailure = spillFailure;
    }

    /// <summary>Bytes the failed create asked for.</summary>
    public long RequestedBytes { get; }
    /// <summary>The store's capacity.</summary>
    public long CapacityBytes { get; }
    /// <summary>Bytes held by objects that could neither be evicted nor spilled (or all bytes in memory when spilling failed).</summary>
    public long InUseBytes { get; }
    /// <summary>Why spilling failed, when that is what left the store full; else null.</summary>
    public string? SpillFailure { get; }
}
