using Ray.Actors;

namespace Ray.Cluster.WorkerSide;

/// <summary>
/// A call a worker process received for its actor when the actor runs several at once: run by
/// the shared <see cref="ActorExecutor"/>, replied to from the thread that finished it.
/// </summary>
internal sealed class WorkerActorCall(WorkerSession session, WorkerFunction function, WorkerCall args, ushort kind, ulong requestId, ObjectId resultId, WorkerRuntime runtime)
    : IActorWork
{
    /// <summary>How a call ended: its prepared result, or the user code's error, or a system error (the result could not be readied).</summary>
    internal readonly record struct Outcome(object? Prepared, Exception? Error, bool SystemError);

    internal WorkerFunction Function => function;
    internal ushort Kind => kind;
    internal ulong RequestId => requestId;
    internal ObjectId ResultId => resultId;

    public bool IsAsync => function.IsAsync;

    public void Run()
    {
        Outcome outcome;
        WorkerSession.EnterTask();
        try { outcome = Execute(); }
        finally { WorkerSession.LeaveTask(); }
        Reply(outcome);
    }

    private Outcome Execute()
    {
        object? result;
        try { result = function.Invoke(args); }
        catch (Exception e) { return new Outcome(null, e, SystemError: false); }
        return Prepare(result);
    }

    // On the actor's thread: starts the method there; its awaits resume there.
    public async Task RunAsync()
    {
        Outcome outcome;
        try
        {
            Task task;
            WorkerSession.EnterTask();
            try { task = (Task)WorkerFunction.Start(args)!; }
            finally { WorkerSession.LeaveTask(); }
            await task;
            var result = function.ResultOf(task);
            // Readied on a pool thread: waiting for refs it returns must not stop the actor's
            // other calls, which resume on the actor's thread.
            outcome = await Task.Run(() =>
            {
                WorkerSession.EnterTask();
                try { return Prepare(result); }
                finally { WorkerSession.LeaveTask(); }
            }).ConfigureAwait(false);
        }
        catch (Exception e) { outcome = new Outcome(null, e, SystemError: false); }
        Reply(outcome);
    }

    // Readies the result while the call still counts as running (see WorkerFunction.Prepare).
    private Outcome Prepare(object? result)
    {
        try { return new Outcome(function.Prepare(result, runtime), null, SystemError: false); }
        catch (Exception e) { return new Outcome(null, e, SystemError: true); }
    }

    private void Reply(Outcome outcome)
    {
        try { session.ReplyCall(this, outcome); } // from the thread that finished it
        catch (Exception e)
        {
            // Never let a reply failure end the worker: the caller learns from the connection.
            Console.Error.WriteLine($"ray worker: the reply to actor call {requestId} failed: {e}");
        }
    }
}
