using System.Collections.Concurrent;

namespace Ray.Cluster.Worker;

/// <summary>
/// Runs the calls of an actor created with MaxConcurrency above 1 in a worker process, with the
/// embedded runtime's semantics (<see cref="Actors.ActorInstance"/>): at most MaxConcurrency
/// calls in flight, the rest queued in arrival order; sync methods run on the actor's own pool
/// of up to MaxConcurrency threads, started as calls need them (a threaded actor: blocking calls
/// must not wait for the process thread pool to grow); async methods start on the actor's own thread and their continuations
/// come back to it, so they interleave at awaits without running in parallel (an async actor,
/// as on Ray's event loop). An actor with MaxConcurrency 1 does not use this: its calls run one
/// by one on the connection's receive thread.
/// </summary>
internal sealed class ActorExecutor
{
    /// <summary>One decoded call, and what its reply needs.</summary>
    internal sealed record Call(WorkerSession Session, WorkerFunction Function, WorkerCall Args, ushort Kind, ulong RequestId, ObjectId ResultId);

    /// <summary>How a call ended: its prepared result, or the user code's error, or a system error (the result could not be readied).</summary>
    internal readonly record struct Outcome(object? Prepared, Exception? Error, bool SystemError);

    private readonly int _maxConcurrency;
    private readonly WorkerRuntime _runtime;
    private readonly ConcurrentQueue<Call> _queued = new();
    private readonly ActorThread _thread;
    private readonly BlockingCollection<Call> _sync = new();
    private readonly string _name;
    private readonly object _lock = new();
    private int _inFlight;
    private int _syncThreads;
    private int _syncIdle;

    /// <param name="maxConcurrency">Calls in flight at most (above 1).</param>
    /// <param name="name">The actor thread's name.</param>
    /// <param name="runtime">The worker's runtime (results are readied with it).</param>
    internal ActorExecutor(int maxConcurrency, string name, WorkerRuntime runtime)
    {
        _maxConcurrency = maxConcurrency;
        _runtime = runtime;
        _name = name;
        _thread = new ActorThread(name);
    }

    /// <summary>Queues a call; it starts now if fewer than MaxConcurrency are in flight.</summary>
    internal void Submit(Call call)
    {
        _queued.Enqueue(call);
        StartQueued();
    }

    private void StartQueued()
    {
        while (true)
        {
            Call? next;
            lock (_lock)
            {
                if (_inFlight >= _maxConcurrency || !_queued.TryDequeue(out next)) return;
                _inFlight++;
            }
            if (next.Function.IsAsync) _thread.Post(static s => { var (self, c) = ((ActorExecutor, Call))s!; _ = self.RunAsync(c); }, (this, next));
            else RunOnSyncThread(next);
        }
    }

    private void RunOnSyncThread(Call call)
    {
        // An idle thread is reserved for the call, or a new one started: one thread per call in
        // flight at most, so never more than MaxConcurrency.
        bool start;
        lock (_lock)
        {
            start = _syncIdle == 0;
            if (start) _syncThreads++;
            else _syncIdle--;
        }
        _sync.Add(call);
        if (start) new Thread(SyncLoop) { IsBackground = true, Name = $"{_name}-{_syncThreads}" }.Start();
    }

    private void SyncLoop()
    {
        while (true)
        {
            var call = _sync.Take();
            var outcome = Execute(call);
            // Idle before the reply frees a slot: a queued call that the reply starts may take
            // this thread instead of starting another.
            lock (_lock) _syncIdle++;
            Finish(call, outcome);
        }
    }

    private Outcome Execute(Call call)
    {
        WorkerSession.EnterTask();
        try
        {
            object? result;
            try { result = call.Function.Invoke(call.Args); }
            catch (Exception e) { return new Outcome(null, e, SystemError: false); }
            return Prepare(call, result);
        }
        finally { WorkerSession.LeaveTask(); }
    }

    // Readies the result while the call still counts as running (see WorkerFunction.Prepare).
    private Outcome Prepare(Call call, object? result)
    {
        try { return new Outcome(call.Function.Prepare(result, _runtime), null, SystemError: false); }
        catch (Exception e) { return new Outcome(null, e, SystemError: true); }
    }

    // On the actor thread: starts the method there; its awaits resume there.
    private async Task RunAsync(Call call)
    {
        Outcome outcome;
        try
        {
            Task task;
            WorkerSession.EnterTask();
            try { task = (Task)WorkerFunction.Start(call.Args)!; }
            finally { WorkerSession.LeaveTask(); }
            await task;
            var result = call.Function.ResultOf(task);
            // Readied on a pool thread: waiting for refs it returns must not stop the actor's
            // other calls, which resume on the actor's thread.
            outcome = await Task.Run(() =>
            {
                WorkerSession.EnterTask();
                try { return Prepare(call, result); }
                finally { WorkerSession.LeaveTask(); }
            }).ConfigureAwait(false);
        }
        catch (Exception e) { outcome = new Outcome(null, e, SystemError: false); }
        Finish(call, outcome);
    }

    private void Finish(Call call, Outcome outcome)
    {
        try { call.Session.ReplyCall(call, outcome); } // from the thread that finished it
        catch (Exception e)
        {
            // Never let a reply failure end the worker: the caller learns from the connection.
            Console.Error.WriteLine($"ray worker: the reply to actor call {call.RequestId} failed: {e}");
        }
        finally
        {
            lock (_lock) _inFlight--;
            StartQueued();
        }
    }

    /// <summary>A thread with its own synchronization context: what is posted to it runs on it, in order.</summary>
    private sealed class ActorThread : SynchronizationContext
    {
        private readonly BlockingCollection<(SendOrPostCallback Callback, object? State)> _work = new();

        internal ActorThread(string name)
        {
            var thread = new Thread(Loop) { IsBackground = true, Name = name };
            thread.Start();
        }

        public override void Post(SendOrPostCallback d, object? state) => _work.Add((d, state));

        private void Loop()
        {
            SetSynchronizationContext(this);
            foreach (var (callback, state) in _work.GetConsumingEnumerable()) callback(state);
        }
    }
}
