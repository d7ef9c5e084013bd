using System.Collections.Concurrent;
using System.Diagnostics;
using Ray.Serialization;

namespace Ray.Objects;

/// <summary>
/// The owner's in-process store of small objects and its reference table. Entries are found
/// through the handles that point at them; only objects whose ids were written into another
/// serialized value are put into the id index (exported), since only those are ever looked up
/// by id. That keeps a hash insert and delete off the per-task path.
/// </summary>
internal sealed class MemoryStore
{
    private readonly ulong _owner;
    private readonly ConcurrentDictionary<ObjectId, ObjectEntry> _exported = new();
    private long _nextSequence;
    private long _created;
    private long _freed;
    private long _liveBytes;

    internal MemoryStore(ulong owner, TimeSpan spin, long bufferBudget, RuntimeOptions options)
    {
        _owner = owner;
        LargeObjects = new LargeObjectStore(options);
        SpinTicks = (long)(spin.TotalSeconds * Stopwatch.Frequency);
        Buffers = new LargeBufferPool(bufferBudget);
    }

    internal long SpinTicks { get; }

    /// <summary>
    /// True for a connected driver's store, whose tasks run in worker processes: an ObjectRef
    /// passed to a task then travels with its value, so the task waits until it is ready.
    /// </summary>
    internal bool TasksLeaveProcess { get; init; }

    /// <summary>Objects at or above the threshold live in the node's shared-memory store.</summary>
    internal LargeObjectStore LargeObjects { get; }
    internal LargeBufferPool Buffers { get; }

    internal long Created => Interlocked.Read(ref _created);
    internal long Freed => Interlocked.Read(ref _freed);
    internal long LiveBytes => Interlocked.Read(ref _liveBytes);

    internal ObjectId NewId() => new(_owner, (ulong)Interlocked.Increment(ref _nextSequence));

    /// <summary>The tag of this store's node (from its owner id): where its large objects live.</summary>
    internal uint NodeTag => Ray.Contract.Ids.OwnerIds.NodeTag(_owner);

    internal ObjectEntry<T> CreatePending<T>()
    {
        Interlocked.Increment(ref _created);
        return new ObjectEntry<T>(NewId(), this);
    }

    /// <summary>A pending entry under an id chosen elsewhere: an item a worker process already put in the node's store under it.</summary>
    internal ObjectEntry<T> CreatePending<T>(ObjectId id)
    {
        Interlocked.Increment(ref _created);
        return new ObjectEntry<T>(id, this);
    }

    internal void Export(ObjectEntry entry)
    {
        if (entry.Exported) return;
        entry.Exported = true;
        _exported.TryAdd(entry.Id, entry);
    }

    internal bool TryLookup(ObjectId id, out ObjectEntry entry) => _exported.TryGetValue(id, out entry!);

    /// <summary>
    /// In a worker process, the store its tasks' arguments are read into (refs that came from
    /// the driver live there): a value put with the worker's nested runtime may hold them, and
    /// reading it back looks them up here too.
    /// </summary>
    internal static MemoryStore? WorkerArguments { get; set; }

    internal void OnCompleted(ObjectEntry entry)
    {
        if (entry.SizeBytes != 0) Interlocked.Add(ref _liveBytes, entry.SizeBytes);
    }

    /// <summary>A value let go early (<see cref="ObjectEntry.FreeByUser"/>): it no longer counts as live.</summary>
    internal void OnValueDropped(ObjectEntry entry)
    {
        var size = entry.SizeBytes;
        entry.SizeBytes = 0;
        if (size != 0) Interlocked.Add(ref _liveBytes, -size);
        // Stays exported while referenced: values holding its id read it back as a freed ref.
    }

    internal void OnFreed(ObjectEntry entry)
    {
        Interlocked.Increment(ref _freed);
        if (entry.SizeBytes != 0) Interlocked.Add(ref _liveBytes, -entry.SizeBytes);
        if (entry.Exported) _exported.TryRemove(entry.Id, out _);
    }
}
