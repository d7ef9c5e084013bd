using System.Collections.Concurrent;
using Ray.PlacementGroups;
using Ray.Tasks;
using Ray.Workers;

namespace Ray.Scheduling;

/// <summary>
/// Resource accounting (one <see cref="ResourceLedger"/>, the type the raylet's node table uses) and
/// the ready queues of an embedded runtime.
///
/// 1. A task whose arguments are ready is enqueued on its scheduling class's queue.
/// 2. An idle worker asks for a lease: the first class (round robin) with queued tasks whose
///    shape fits the available resources is granted, and its resources are subtracted.
/// 3. The worker runs that class's tasks back to back; when the queue stays empty (after a
///    short spin) or another class is starved of resources, it returns the lease.
/// 4. A worker blocked in Get gives its lease's resources back until it resumes.
/// Requests larger than the runtime's total are refused when their class is made.
///
/// Placement groups: a group's whole demand is reserved from the node's ledger at once (waiting,
/// with the actors, until it fits), then its bundles are ledgers of their own
/// (<see cref="PlacementBundles"/>) that classes and actors placed into the group acquire from.
/// </summary>
internal sealed class LocalScheduler
{
    private readonly object _lock = new();
    private readonly ResourceLedger _ledger; // guarded by _lock
    private readonly ConcurrentDictionary<ResourceSet, SchedulingClass> _classByShape = new();
    private SchedulingClass[] _classes = [];
    private int _nextScan;
    private int _readyCount;
    private volatile bool _starving;
    private volatile bool _mayGrantMore = true;
    private bool _hasZeroCpuClass;
    private bool _hasPlacedClass; // bundles may have CPU free while the node has none
    private readonly LinkedList<ResourceWaiter> _waiters = new();
    private readonly ConcurrentDictionary<(ResourceSet, BundlePlacement), SchedulingClass> _placedClasses = new();

    internal LocalScheduler(ResourceRegistry registry, ResourceSet total)
    {
        Registry = registry;
        _ledger = new ResourceLedger(registry.Names, total);
        UpdateHints();
    }

    internal ResourceRegistry Registry { get; }
    internal IWorkerPool Pool { get; set; } = null!;

    internal int ReadyCount => Volatile.Read(ref _readyCount);

    /// <summary>Scheduling classes known now (tests: classes of removed placement groups are dropped).</summary>
    internal int ClassCount => Volatile.Read(ref _classes).Length;


    /// <summary>Some class has queued tasks that did not fit; lease holders should yield.</summary>
    internal bool Starving => _starving;

    /// <summary>
    /// A cheap hint that another lease might be granted: CPU is free, or some class needs no
    /// CPU. The pool checks <see cref="CanGrantAny"/> before it actually starts a thread.
    /// </summary>
    internal bool MayGrantMore => _mayGrantMore;

    /// <summary>True when some class with queued tasks fits the free resources now.</summary>
    internal bool CanGrantAny()
    {
        if (ReadyCount == 0) return false;
        lock (_lock)
        {
            foreach (var cls in _classes)
                if (!cls.Ready.IsEmpty && CanAcquireLocked(cls.Request, cls.Placement)) return true;
            return false;
        }
    }

    internal string FormatTotal() => Registry.Format(_ledger.Total);

    internal (ResourceSet Total, ResourceSet Available) Snapshot()
    {
        lock (_lock) return _ledger.Snapshot();
    }

    /// <summary>The class for a shape; throws when the shape can never fit this runtime (unless <paramref name="checkFeasible"/> is false).</summary>
    internal SchedulingClass ClassFor(ResourceSet request, string what, bool checkFeasible = true)
    {
        if (_classByShape.TryGetValue(request, out var cls)) return cls;
        if (checkFeasible) EnsureFeasible(request, what);
        lock (_lock)
        {
            if (_classByShape.TryGetValue(request, out cls)) return cls;
            cls = new SchedulingClass(_classes.Length, request, Registry.Format(request));
            _classes = [.. _classes, cls];
            _classByShape[request] = cls;
            if (request.Amounts[ResourceRegistry.CpuIndex] == 0) _hasZeroCpuClass = true;
            UpdateHints();
            return cls;
        }
    }

    /// <summary>
    /// The class for a shape placed into a group's bundle. The caller checked the shape fits the
    /// bundle (<see cref="PlacementBundles.IsFeasible"/>).
    /// </summary>
    internal SchedulingClass ClassFor(ResourceSet request, BundlePlacement placement)
    {
        var key = (request, placement);
        if (_placedClasses.TryGetValue(key, out var cls)) return cls;
        lock (_lock)
        {
            if (_placedClasses.TryGetValue(key, out cls)) return cls;
            cls = new SchedulingClass(_classes.Length, request, $"{Registry.Format(request)} in placement group {placement.Group.Describe()}" +
                (placement.Bundle >= 0 ? $" bundle {placement.Bundle}" : ""), placement);
            _classes = [.. _classes, cls];
            _placedClasses[key] = cls;
            _hasPlacedClass = true;
            UpdateHints();
            return cls;
        }
    }

    /// <summary>True when <paramref name="request"/> fits the totals (they never change: no lock needed).</summary>
    internal bool IsFeasible(ResourceSet request) => _ledger.IsFeasible(request);

    internal void EnsureFeasible(ResourceSet request, string what)
    {
        if (!_ledger.IsFeasible(request)) // the totals never change: no lock needed
            throw ExceptionFactory.Unsatisfiable(what, Registry.Format(request), Registry.Format(_ledger.Total));
    }

    internal void Enqueue(SubmittedTask task)
    {
        if (_stopped)
        {
            task.FailSystem(ExceptionFactory.Shutdown());
            return;
        }
        var cls = task.Class;
        if (cls.Placement is { Group.IsRemoved: true } placed)
        {
            task.FailSystem(placed.Group.RemovedError());
            return;
        }
        cls.Ready.Enqueue(task);
        Interlocked.Increment(ref _readyCount);
        if (cls.Placement is { Group.IsRemoved: true } removed) // raced with the group's removal, whose drain may have passed: fail what is queued
        {
            var error = removed.Group.RemovedError();
            while (TryDequeue(cls, out var t)) t.FailSystem(error);
            return;
        }
        if (_stopped) DrainAll(); // raced with shutdown's drain: nobody would ever run it
        else if (Volatile.Read(ref cls.Spinners) == 0) Pool.NotifyWork(cls);
    }

    private volatile bool _stopped;

    /// <summary>Shutdown: from now on tasks that become ready fail instead of queueing.</summary>
    internal void Stop()
    {
        _stopped = true;
        DrainAll();
    }

    /// <summary>Fails every queued task (shutdown).</summary>
    internal void DrainAll()
    {
        var shutdown = ExceptionFactory.Shutdown();
        foreach (var cls in _classes)
            while (TryDequeue(cls, out var t)) t.FailSystem(shutdown);
    }

    internal bool TryDequeue(SchedulingClass cls, out SubmittedTask task)
    {
        if (!cls.Ready.TryDequeue(out task!)) return false;
        Interlocked.Decrement(ref _readyCount);
        return true;
    }

    /// <summary>
    /// Grants a lease on some class with queued work that fits, or returns null;
    /// <paramref name="bundle"/>: the bundle it came from, for a class placed into a group.
    /// </summary>
    internal SchedulingClass? TryAcquireLease(out int bundle)
    {
        bundle = -1;
        if (ReadyCount == 0) return null;
        lock (_lock)
        {
            var classes = _classes;
            var pending = false;
            for (var i = 0; i < classes.Length; i++)
            {
                var cls = classes[(_nextScan + i) % classes.Length];
                if (cls.Ready.IsEmpty) continue;
                // Tasks of a group still pending wait for it without starving the others.
                if (cls.Placement is { Group.Bundles.Reserved: false }) continue;
                pending = true;
                if (!TryAcquireLocked(cls.Request, cls.Placement, out bundle)) continue;
                cls.Leases++;
                _nextScan = (cls.Index + 1) % classes.Length;
                _starving = false;
                UpdateHints();
                return cls;
            }
            _starving = pending;
            return null;
        }
    }

    internal void ReturnLease(SchedulingClass cls, int bundle)
    {
        lock (_lock)
        {
            cls.Leases--;
            ReleaseLocked(cls.Request, cls.Placement, bundle);
            UpdateHints();
            GrantWaiters();
        }
        if (ReadyCount > 0) Pool.NotifyWork();
    }

    /// <summary>A worker blocked in Get hands its resources back until it resumes.</summary>
    internal void ReleaseWhileBlocked(ResourceSet held, BundlePlacement? placement, int bundle)
    {
        lock (_lock)
        {
            ReleaseLocked(held, placement, bundle);
            UpdateHints();
            GrantWaiters();
        }
    }

    /// <summary>
    /// Takes the resources back when the blocked worker resumes, even if that oversubscribes
    /// for a moment (as Ray does): making a resumed task wait could deadlock its caller.
    /// </summary>
    internal void ReacquireAfterBlocked(ResourceSet held, BundlePlacement? placement, int bundle)
    {
        lock (_lock)
        {
            if (placement is { } p) p.Group.Bundles.ForceAcquire(bundle, held, _ledger);
            else _ledger.ForceAcquire(held);
            UpdateHints();
        }
    }

    /// <summary>
    /// Holds resources for an actor's life; waits (without a thread) until they fit. Waiting
    /// actors are granted oldest first, but one that does not fit does not hold back a later one
    /// that does (as Ray: a pending 0.7-CPU actor does not block a 0.3-CPU one).
    /// </summary>
    /// <returns>The bundle the resources came from (for an actor placed into a group), else -1.</returns>
    /// <exception cref="PlacementGroupRemovedException">(From the task) the actor's group was removed while it waited.</exception>
    internal Task<int> AcquireForActorAsync(ResourceSet request, BundlePlacement? placement, CancellationToken cancel)
    {
        lock (_lock)
        {
            if (placement is { Group.IsRemoved: true } removed) return Task.FromException<int>(removed.Group.RemovedError());
            if (TryAcquireLocked(request, placement, out var bundle))
            {
                UpdateHints();
                return Task.FromResult(bundle);
            }
            var waiter = new ResourceWaiter(request, placement, null);
            _waiters.AddLast(waiter);
            if (cancel.CanBeCanceled)
            {
                var registration = cancel.Register(() =>
                {
                    lock (_lock)
                    {
                        if (!_waiters.Remove(waiter)) return;
                        waiter.Done.TrySetCanceled();
                        GrantWaiters(); // the ones queued behind it may fit now
                    }
                });
                waiter.Done.Task.ContinueWith(static (_, r) => ((CancellationTokenRegistration)r!).Dispose(), registration,
                    TaskScheduler.Default);
            }
            return waiter.Done.Task;
        }
    }

    internal void ReleaseFromActor(ResourceSet request, BundlePlacement? placement, int bundle)
    {
        lock (_lock)
        {
            ReleaseLocked(request, placement, bundle);
            UpdateHints();
            GrantWaiters();
        }
        if (ReadyCount > 0) Pool.NotifyWork();
    }

    // Actors and placement groups waiting for resources are served first, oldest first, each one that fits.
    private void GrantWaiters()
    {
        var reserved = false;
        for (var node = _waiters.First; node is not null;)
        {
            var next = node.Next;
            var w = node.Value;
            if (w.Group is { } group)
            {
                if (group.Bundles.TryReserve(_ledger))
                {
                    _waiters.Remove(node);
                    group.MarkCreated();
                    reserved = true;
                }
            }
            else if (TryAcquireLocked(w.Request, w.Placement, out var bundle))
            {
                _waiters.Remove(node);
                w.Done.TrySetResult(bundle);
            }
            node = next;
        }
        UpdateHints();
        if (reserved && ReadyCount > 0) ThreadPool.UnsafeQueueUserWorkItem(static p => p.NotifyWork(), Pool, preferLocal: false);
    }

    private bool TryAcquireLocked(ResourceSet request, BundlePlacement? placement, out int bundle)
    {
        if (placement is { } p) return (bundle = p.Group.Bundles.TryAcquire(p.Bundle, request)) >= 0;
        bundle = -1;
        return _ledger.TryAcquire(request);
    }

    private bool CanAcquireLocked(ResourceSet request, BundlePlacement? placement) =>
        placement is { } p ? p.Group.Bundles.CanAcquire(p.Bundle, request) : _ledger.CanAcquire(request);

    private void ReleaseLocked(ResourceSet request, BundlePlacement? placement, int bundle)
    {
        if (placement is { } p) p.Group.Bundles.Release(bundle, request, _ledger);
        else _ledger.Release(request);
    }

    // ---- placement groups ----

    /// <summary>
    /// Reserves a group's bundles now if the node's free resources cover them all, else queues
    /// it with the waiting actors (oldest first); it becomes created when it fits.
    /// </summary>
    internal void Reserve(PlacementGroupEntry group)
    {
        lock (_lock)
        {
            if (group.IsRemoved) return;
            if (group.Bundles.TryReserve(_ledger))
            {
                group.MarkCreated();
                UpdateHints();
            }
            else _waiters.AddLast(new ResourceWaiter(group.Bundles.Sum, null, group));
        }
    }

    /// <summary>
    /// Removes a group: its free reservation goes back to the node (what its work still holds
    /// follows as it lets go), its queued tasks and waiting actors fail with the removal.
    /// </summary>
    internal void Remove(PlacementGroupEntry group)
    {
        var failed = new List<SubmittedTask>();
        lock (_lock)
        {
            group.Bundles.Remove(_ledger);
            for (var node = _waiters.First; node is not null;)
            {
                var next = node.Next;
                if (node.Value.Group == group || node.Value.Placement?.Group == group)
                {
                    _waiters.Remove(node);
                    node.Value.Done.TrySetException(group.RemovedError());
                }
                node = next;
            }
            foreach (var cls in _classes)
                if (cls.Placement?.Group == group)
                    while (TryDequeue(cls, out var t)) failed.Add(t);
            // Its classes go too (a create/submit/remove loop must not grow the scan): a task that
            // still reaches one (a retry, a cached class) fails at Enqueue; a lease held on one is
            // returned as usual, into the node (the group is removed).
            var keep = Array.FindAll(_classes, c => c.Placement?.Group != group);
            if (keep.Length != _classes.Length)
            {
                _classes = keep;
                foreach (var key in _placedClasses.Keys)
                    if (key.Item2.Group == group) _placedClasses.TryRemove(key, out _);
                _hasPlacedClass = Array.Exists(keep, static c => c.Placement is not null);
            }
            GrantWaiters();
        }
        var error = group.RemovedError();
        foreach (var t in failed) t.FailSystem(error);
        if (ReadyCount > 0) Pool.NotifyWork();
    }

    private void UpdateHints() => _mayGrantMore = _ledger.Available.Amounts[ResourceRegistry.CpuIndex] > 0 || _hasZeroCpuClass || _hasPlacedClass;

    private sealed class ResourceWaiter(ResourceSet request, BundlePlacement? placement, PlacementGroupEntry? group)
    {
        internal ResourceSet Request { get; } = request;
        internal BundlePlacement? Placement { get; } = placement;
        internal PlacementGroupEntry? Group { get; } = group; // a placement group waiting to be reserved
        internal TaskCompletionSource<int> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
