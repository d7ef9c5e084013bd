using System.Collections.Concurrent;

namespace Ray.Actors;

/// <summary>One call an <see cref="ActorExecutor"/> runs: the in-process actor's call, or a call a worker process received.</summary>
internal interface IActorWork
{
    /// <summary>True for an async method: it starts on the actor's context and interleaves at awaits.</summary>
    bool IsAsync { get; }

    /// <summary>Runs a sync call to its end (its result stored or its reply sent), on one of the executor's threads.</summary>
    void Run();

    /// <summary>Starts an async call on the actor's context; the task completes (never faults) when it is done.</summary>
    Task RunAsync();
}

/// <summary>
/// Runs an actor's calls with MaxConcurrency above 1, the one executor of both modes (the
/// embedded runtime's actors and actors in worker processes): at most MaxConcurrency calls in
/// flight, the rest queued in arrival order; sync methods run on the actor's own threads, up to
/// MaxConcurrency, started as calls need them (a threaded actor, as Ray's: blocking calls must
/// not wait for the process thread pool to grow); async methods start on the actor's
/// synchronization context and their continuations come back to it, so they interleave at
/// awaits without running in parallel (an async actor, as on Ray's event loop). An actor with
/// MaxConcurrency 1 does not use it: its calls run one by one on one thread.
/// </summary>
internal sealed class ActorExecutor : IDisposable
{
    private readonly int _maxConcurrency;
    private readonly SynchronizationContext _asyncContext;
    private readonly ConcurrentQueue<IActorWork> _queued = new();
    private readonly BlockingCollection<IActorWork> _sync = new();
    private readonly string _name;
    private readonly object _lock = new();
    private int _running;
    private int _syncThreads;
    private int _syncIdle;

    /// <param name="maxConcurrency">Calls in flight at most (above 1).</param>
    /// <param name="name">The name of the executor's threads.</param>
    /// <param name="asyncContext">Where async calls start and resume: the actor's own thread.</param>
    internal ActorExecutor(int maxConcurrency, string name, SynchronizationContext asyncContext)
    {
        _maxConcurrency = maxConcurrency;
        _name = name;
        _asyncContext = asyncContext;
    }

    /// <summary>Queues a call; it starts now if fewer than MaxConcurrency are running.</summary>
    internal void Submit(IActorWork work)
    {
        _queued.Enqueue(work);
        StartQueued();
    }

    private void StartQueued()
    {
        while (true)
        {
            IActorWork? next;
            lock (_lock)
            {
                if (_running >= _maxConcurrency || !_queued.TryDequeue(out next)) return;
                _running++;
            }
            if (next.IsAsync) _asyncContext.Post(static s => { var (self, w) = ((ActorExecutor, IActorWork))s!; _ = self.RunAsync(w); }, (this, next));
            else RunOnSyncThread(next);
        }
    }

    private void RunOnSyncThread(IActorWork work)
    {
        // An idle thread is reserved for the call, or a new one started: one thread per call
        // running at most, so never more than MaxConcurrency.
        bool start;
        lock (_lock)
        {
            start = _syncIdle == 0;
            if (start) _syncThreads++;
            else _syncIdle--;
        }
        try { _sync.Add(work); }
        catch (InvalidOperationException) { return; } // disposed: the actor is gone and its calls failed with it
        if (start) new Thread(SyncLoop) { IsBackground = true, Name = $"{_name}-{_syncThreads}" }.Start();
    }

    private void SyncLoop()
    {
        foreach (var work in _sync.GetConsumingEnumerable())
        {
            try { work.Run(); }
            catch (Exception e) { Console.Error.WriteLine($"ray: an actor call escaped its handler: {e}"); } // each work item handles its own errors
            // Idle before the slot is freed: a queued call it starts may take this thread
            // instead of starting another.
            lock (_lock) _syncIdle++;
            Finished();
        }
    }

    private async Task RunAsync(IActorWork work)
    {
        try { await work.RunAsync(); } // resumes on the actor's context
        catch (Exception e) { Console.Error.WriteLine($"ray: an async actor call escaped its handler: {e}"); }
        Finished();
    }

    private void Finished()
    {
        lock (_lock) _running--;
        StartQueued();
    }

    /// <summary>Lets the executor's threads end once their calls return (the actor is gone); a context of its own ends too.</summary>
    public void Dispose()
    {
        _sync.CompleteAdding();
        (_asyncContext as IDisposable)?.Dispose();
    }
}

/// <summary>A thread with its own synchronization context: what is posted to it runs on it, in order (a worker process's async actor).</summary>
internal sealed class DedicatedThreadContext : SynchronizationContext, IDisposable
{
    private readonly BlockingCollection<(SendOrPostCallback Callback, object? State)> _work = new();

    internal DedicatedThreadContext(string name) => new Thread(Loop) { IsBackground = true, Name = name }.Start();

    public override void Post(SendOrPostCallback d, object? state)
    {
        try { _work.Add((d, state)); }
        catch (InvalidOperationException) { } // disposed: the actor is gone
    }

    private void Loop()
    {
        SetSynchronizationContext(this);
        foreach (var (callback, state) in _work.GetConsumingEnumerable()) callback(state);
    }

    /// <summary>Ends the thread once what was posted has run.</summary>
    public void Dispose() => _work.CompleteAdding();
}
