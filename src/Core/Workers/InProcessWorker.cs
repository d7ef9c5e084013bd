using System.Diagnostics;
using Ray.Scheduling;
using Ray.Tasks;

namespace Ray.Workers;

/// <summary>
/// One worker thread. Holds at most one lease; runs the leased class's tasks back to back,
/// spins briefly when the queue empties (cheaper than a park/wake pair on these VMs), then
/// returns the lease and parks.
/// </summary>
internal sealed class InProcessWorker
{
    private readonly InProcessWorkerPool _pool;
    private readonly Runtime.RuntimeCore _core;
    private readonly Thread _thread;
    private readonly WorkerContext _context;

    internal InProcessWorker(InProcessWorkerPool pool, Runtime.RuntimeCore core, int index)
    {
        _pool = pool;
        _core = core;
        Id = new WorkerId(core.OwnerId, index);
        _context = new WorkerContext(core, pool);
        _thread = new Thread(Loop) { IsBackground = true, Name = $"ray-worker-{index}" };
    }

    internal WorkerId Id { get; }
    internal Parker Parker { get; } = new();

    /// <summary>1 while this worker has an entry in the pool's parked stack.</summary>
    internal int InParkedStack;

    internal void Start() => _thread.Start();

    internal void Join(TimeSpan timeout) => _thread.Join(timeout);

    private void Loop()
    {
        WorkerContext.Install(_context);
        var scheduler = _pool.Scheduler;
        SchedulingClass? lease = null;
        var bundle = -1; // the placement group bundle the lease came from, if its class is placed
        while (!_pool.Stopping)
        {
            if (lease is not null)
            {
                if (scheduler.TryDequeue(lease, out var task))
                {
                    _pool.OnTaskStarted(); // counted busy first, so the pool knows to grow for the rest
                    if (!lease.Ready.IsEmpty) _pool.NotifyWork(); // more work: bring a helper
                    Run(task, lease, bundle);
                    if (scheduler.Starving) { scheduler.ReturnLease(lease, bundle); lease = null; }
                    continue;
                }
                if (SpinFor(lease)) continue;
                scheduler.ReturnLease(lease, bundle);
                lease = null;
            }
            lease = scheduler.TryAcquireLease(out bundle);
            if (lease is not null) continue;

            Parker.Prepare();
            _pool.OnParking(this);
            if (scheduler.ReadyCount > 0 && !scheduler.Starving) { Parker.Cancel(); continue; }
            if (_pool.Stopping) { Parker.Cancel(); break; }
            Parker.Park(TimeSpan.FromSeconds(1));
        }
        if (lease is not null) scheduler.ReturnLease(lease, bundle);
    }

    private bool SpinFor(SchedulingClass lease)
    {
        var start = Stopwatch.GetTimestamp();
        var limit = _pool.SpinTicks;
        var sw = new SpinWait();
        Interlocked.Increment(ref lease.Spinners);
        try
        {
            while (Stopwatch.GetTimestamp() - start < limit)
            {
                if (!lease.Ready.IsEmpty) return true;
                if (_pool.Stopping || _pool.Scheduler.Starving) return false;
                sw.SpinOnce(sleep1Threshold: -1);
            }
        }
        finally { Interlocked.Decrement(ref lease.Spinners); }
        return !lease.Ready.IsEmpty;
    }

    private void Run(SubmittedTask task, SchedulingClass lease, int bundle)
    {
        _context.CurrentTask = task;
        _context.Held = lease.Request;
        _context.HeldBundle = bundle;
        try { task.Run(); }
        finally
        {
            _pool.OnTaskEnded();
            _context.CurrentTask = null;
            _context.Held = null;
        }
    }
}
