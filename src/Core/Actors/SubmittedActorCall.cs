using Ray.Objects;
using Ray.Tasks;

namespace Ray.Actors;

/// <summary>
/// A call to an actor method. Calls are queued in the actor's mailbox in submission order and
/// run on the actor's thread; a call whose argument is not ready yet waits for it there, so
/// order is kept (as Ray's actor task submitter does).
/// </summary>
internal abstract class SubmittedActorCall : SubmittedTask
{
    /// <summary>Waits for every ref argument; returns the 1-based index of the first failed one, or 0.</summary>
    internal abstract int WaitDependencies(out ObjectEntry? failed);

    /// <summary>True when no ref argument is pending (failed ones count as ready: sending fails the call).</summary>
    internal abstract bool ArgumentsReady { get; }

    /// <summary>True when the method is async (returns a task).</summary>
    internal abstract bool IsAsync { get; }

    /// <summary>Runs the method on <paramref name="instance"/>; returns the pending task of an async method.</summary>
    internal abstract Task? Start(object instance);

    /// <summary>
    /// For a transport that sends the call elsewhere (a worker process): waits for its arguments
    /// and marks it running. False when it ended meanwhile (killed or cancelled; an argument that
    /// failed fails it here). Calls are handed over in mailbox order, so they run in order there.
    /// </summary>
    internal bool TryStartElsewhere()
    {
        if (IsFinished) return false;
        var index = WaitDependencies(out var failed);
        if (IsFinished) return false;
        if (index != 0)
        {
            FailDependencyBeforeRun(index, failed!);
            return false;
        }
        return TryMarkRunning();
    }

    /// <summary>A running call whose actor's worker died is sent again to the restarted actor.</summary>
    internal bool TryCountResend(int maxTaskRetries)
    {
        if (maxTaskRetries >= 0 && Attempt >= maxTaskRetries) return false; // -1: no limit
        Attempt++;
        return true;
    }


    /// <summary>Waits for passed refs' objects to complete, however they end (see <see cref="ArgSlot{T}.Passed"/>).</summary>
    protected void WaitPassed(ObjectEntry[]? passed)
    {
        if (passed is null) return;
        foreach (var e in passed)
            while (!e.WaitCompleted(TimeSpan.FromMilliseconds(50)))
                if (IsFinished) return;
    }

    protected bool WaitFor(ObjectEntry? dependency, out ObjectEntry? failed)
    {
        failed = null;
        if (dependency is null) return false;
        // Wait in slices: a kill fails this call meanwhile, and the actor must not stay blocked
        // (holding its resources) on an argument nobody needs any more.
        while (!dependency.WaitCompleted(TimeSpan.FromMilliseconds(50)))
            if (IsFinished) return false;
        if (dependency.IsFailed || dependency.IsFreed) failed = dependency;
        return failed is not null;
    }

    /// <summary>
    /// Runs the call on the actor's thread. Returns null when it finished synchronously, else a
    /// task that completes (never faults) when the async method is done and its result stored.
    /// </summary>
    internal Task? RunOn(object instance)
    {
        if (IsFinished) return null; // failed by a kill, or cancelled, before it started
        var index = WaitDependencies(out var failed);
        if (IsFinished) return null; // killed while waiting for an argument
        if (index != 0)
        {
            FailDependencyBeforeRun(index, failed!);
            return null;
        }
        if (!TryMarkRunning()) return null; // cancelled while queued
        Task? pending;
        try
        {
            pending = Start(instance);
        }
        catch (Exception e)
        {
            CompleteFailure(e);
            return null;
        }
        if (pending is null)
        {
            CompleteSuccess();
            return null;
        }
        return ObserveAsync(pending);
    }

    private async Task ObserveAsync(Task pending)
    {
        try
        {
            await pending;
            CompleteSuccess();
        }
        catch (Exception e)
        {
            CompleteFailure(e);
        }
    }
}
