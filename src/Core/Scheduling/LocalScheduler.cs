using System.Collections.Concurrent;
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
    private readonly LinkedList<ResourceWaiter> _waiters = new();

    internal LocalScheduler(ResourceRegistry registry, ResourceSet total)
    {
        Registry = registry;
        _ledger = new ResourceLedger(registry.Names, total);
        UpdateHints();
    }

    internal ResourceRegistry Registry { get; }
    internal IWorkerPool Pool { get; set; } = null!;

    internal int ReadyCount => Volatile.Read(ref _readyCount);


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
                if (!cls.Ready.IsEmpty && _ledger.CanAcquire(cls.Request)) return true;
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
        cls.Ready.Enqueue(task);
        Interlocked.Increment(ref _readyCount);
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

    /// <summary>Grants a lease on some class with queued work that fits, or returns null.</summary>
    internal SchedulingClass? TryAcquireLease()
    {
        if (ReadyCount == 0) return null;
        lock (_lock)
        {
            var classes = _classes;
            var pending = false;
            for (var i = 0; i < classes.Length; i++)
            {
                var cls = classes[(_nextScan + i) % classes.Length];
                if (cls.Ready.IsEmpty) continue;
                pending = true;
                if (!_ledger.TryAcquire(cls.Request)) continue;
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

    internal void ReturnLease(SchedulingClass cls)
    {
        lock (_lock)
        {
            cls.Leases--;
            _ledger.Release(cls.Request);
            UpdateHints();
            GrantWaiters();
        }
        if (ReadyCount > 0) Pool.NotifyWork();
    }

    /// <summary>A worker blocked in Get hands its resources back until it resumes.</summary>
    internal void ReleaseWhileBlocked(ResourceSet held)
    {
        lock (_lock)
        {
            _ledger.Release(held);
            UpdateHints();
            GrantWaiters();
        }
    }

    /// <summary>
    /// Takes the resources back when the blocked worker resumes, even if that oversubscribes
    /// for a moment (as Ray does): making a resumed task wait could deadlock its caller.
    /// </summary>
    internal void ReacquireAfterBlocked(ResourceSet held)
    {
        lock (_lock)
        {
            _ledger.ForceAcquire(held);
            UpdateHints();
        }
    }

    /// <summary>
    /// Holds resources for an actor's life; waits (without a thread) until they fit. Waiting
    /// actors are granted oldest first, but one that does not fit does not hold back a later one
    /// that does (as Ray: a pending 0.7-CPU actor does not block a 0.3-CPU one).
    /// </summary>
    internal Task AcquireForActorAsync(ResourceSet request, CancellationToken cancel)
    {
        lock (_lock)
        {
            if (_ledger.TryAcquire(request))
            {
                UpdateHints();
                return Task.CompletedTask;
            }
            var waiter = new ResourceWaiter(request);
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

    internal void ReleaseFromActor(ResourceSet request)
    {
        lock (_lock)
        {
            _ledger.Release(request);
            UpdateHints();
            GrantWaiters();
        }
        if (ReadyCount > 0) Pool.NotifyWork();
    }

    // Actors waiting for resources are served first, oldest first, each one that fits.
    private void GrantWaiters()
    {
        for (var node = _waiters.First; node is not null;)
        {
            var next = node.Next;
            if (_ledger.TryAcquire(node.Value.Request))
            {
                _waiters.Remove(node);
                node.Value.Done.TrySetResult();
            }
            node = next;
        }
        UpdateHints();
    }

    private void UpdateHints() => _mayGrantMore = _ledger.Available.Amounts[ResourceRegistry.CpuIndex] > 0 || _hasZeroCpuClass;

    private sealed class ResourceWaiter(ResourceSet request)
    {
        internal ResourceSet Request { get; } = request;
        internal TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
