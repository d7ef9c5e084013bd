using System.Collections.Concurrent;
using Ray.Scheduling;

namespace Ray.Workers;

/// <summary>
/// The worker pool of the embedded runtime: in-process worker threads. The raylet later puts
/// worker processes behind the same scheduler; the lease protocol is the same.
///
/// 1. Starts <c>NumWorkers</c> threads, which park until there is work.
/// 2. <see cref="NotifyWork"/> wakes one parked worker; if none is parked and the scheduler
///    may still have spare CPU (fractional or zero-CPU tasks), it starts another thread.
/// 3. A worker that blocks in Get is compensated with a new thread when none is idle, so
///    nested tasks always find a worker (bounded by <c>MaxWorkers</c>).
/// </summary>
internal sealed class InProcessWorkerPool : IWorkerPool
{
    private readonly Runtime.RuntimeCore _core;
    private readonly List<InProcessWorker> _workers = new();
    private readonly ConcurrentStack<InProcessWorker> _parked = new();
    private readonly int _maxWorkers;
    private int _blocked;
    private int _busy;
    private volatile bool _stopping;

    internal InProcessWorkerPool(Runtime.RuntimeCore core, int initial, int max)
    {
        _core = core;
        _maxWorkers = Math.Max(max, initial);
        for (var i = 0; i < initial; i++) StartWorker();
    }

    internal LocalScheduler Scheduler => _core.Scheduler;
    internal bool Stopping => _stopping;
    internal long SpinTicks => _core.Store.SpinTicks;

    public int WorkerCount
    {
        get { lock (_workers) return _workers.Count; }
    }

    public int BlockedCount => Volatile.Read(ref _blocked);

    public void NotifyWork(SchedulingClass? cls = null)
    {
        while (_parked.TryPop(out var w))
        {
            Interlocked.Exchange(ref w.InParkedStack, 0);
            if (w.Parker.TryWake()) return; // else a stale entry: that worker is running already
        }
        if (Scheduler.MayGrantMore) TryGrow();
    }

    /// <summary>A worker is about to park: list it once (a worker re-parking after a timeout is already listed).</summary>
    internal void OnParking(InProcessWorker worker)
    {
        if (Interlocked.Exchange(ref worker.InParkedStack, 1) == 0) _parked.Push(worker);
    }

    internal void OnTaskStarted() => Interlocked.Increment(ref _busy);

    internal void OnTaskEnded() => Interlocked.Decrement(ref _busy);

    public void OnWorkerBlocked()
    {
        Interlocked.Increment(ref _blocked);
        // Its CPU went back to the scheduler; make sure a thread exists to use it.
        if (Scheduler.ReadyCount > 0) NotifyWork();
        else if (_parked.IsEmpty) TryGrow();
    }

    public void OnWorkerUnblocked() => Interlocked.Decrement(ref _blocked);

    private void TryGrow()
    {
        if (_stopping) return;
        lock (_workers)
        {
            if (_workers.Count >= _maxWorkers) return;
            // Only grow when every worker is inside a task (running or blocked in Get): an
            // idle one, parked or on its way to park, will pick the work up itself.
            if (!_parked.IsEmpty || Volatile.Read(ref _busy) < _workers.Count) return;
            if (!Scheduler.CanGrantAny()) return; // queued work does not fit: a thread would only park
            StartWorkerLocked();
        }
    }

    private void StartWorker()
    {
        lock (_workers) StartWorkerLocked();
    }

    private void StartWorkerLocked()
    {
        var worker = new InProcessWorker(this, _core, _workers.Count);
        _workers.Add(worker);
        worker.Start();
    }

    public void Dispose()
    {
        _stopping = true;
        InProcessWorker[] all;
        lock (_workers) all = _workers.ToArray();
        foreach (var w in all) w.Parker.TryWake();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5); // one deadline for all, not 5 s each
        foreach (var w in all)
        {
            var left = deadline - DateTime.UtcNow;
            w.Join(left > TimeSpan.Zero ? left : TimeSpan.Zero);
        }
    }
}
