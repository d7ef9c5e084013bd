using System.Collections.Concurrent;
using Ray.Tasks;

namespace Ray.Cluster.WorkerSide;

/// <summary>
/// Cancelling a task that runs in this worker (Ray's non-force cancel): the driver's cancel comes
/// through the raylet on the worker's registration link (this session's receive thread is busy
/// running the task), finds the session running that result, signals the task's token
/// (<see cref="RayContext.CancellationToken"/>) and cancels the tasks it submitted (recursive, as
/// Ray's default). Per task this costs a lock pair and two field writes; the token and the list
/// of children are made only when asked for.
/// </summary>
internal sealed partial class WorkerSession
{
    private static readonly ConcurrentDictionary<WorkerSession, byte> s_live = new();

    [ThreadStatic] private static WorkerSession? t_running; // the session whose task this thread runs

    private readonly object _cancelLock = new();
    private ObjectId _runningId;          // the result of the task running now (Nil: none)
    private CancellationTokenSource? _runningCts;
    private bool _runningCancelled;
    private List<SubmittedTask>? _runningChildren;

    private void EnterRunning(ObjectId resultId)
    {
        lock (_cancelLock)
        {
            _runningId = resultId;
            if (TakeCancelledBeforeStart(resultId)) _runningCancelled = true; // cancelled as it was being read
        }
        t_running = this;
    }

    private void LeaveRunning()
    {
        t_running = null;
        lock (_cancelLock)
        {
            _runningId = ObjectId.Nil;
            _runningCancelled = false;
            _runningChildren = null;
            if (_runningCts is { } cts)
            {
                _runningCts = null;
                cts.Dispose();
            }
        }
    }

    /// <summary>The token of the task this thread runs in a worker process (None outside one).</summary>
    internal static CancellationToken CurrentToken
    {
        get
        {
            if (t_running is not { } s) return CancellationToken.None;
            lock (s._cancelLock)
            {
                s._runningCts ??= new CancellationTokenSource();
                if (s._runningCancelled) s._runningCts.Cancel();
                return s._runningCts.Token;
            }
        }
    }

    /// <summary>A task the running task submitted (through the worker's nested driver): cancelled with it.</summary>
    internal static void AddChild(SubmittedTask child)
    {
        if (t_running is not { } s) return;
        bool cancelled;
        lock (s._cancelLock)
        {
            cancelled = s._runningCancelled;
            if (!cancelled)
            {
                var list = s._runningChildren ??= new List<SubmittedTask>();
                if (list.Count >= 64 && list.Count % 64 == 0) list.RemoveAll(static t => t.IsFinished);
                list.Add(child);
            }
        }
        if (cancelled) child.Core.CancelTask(child, force: false, recursive: true); // submitted after its parent's cancel
    }

    // Cancels that found no running task: the task may wait behind another one in this worker
    // (pushed, not started). Kept for a while, so it is skipped when it comes up; a cancel for a
    // task that already finished is forgotten after that.
    private static readonly ConcurrentDictionary<ObjectId, long> s_cancelledBeforeStart = new();
    private static readonly long s_forgetAfterTicks = 5 * 60 * System.Diagnostics.Stopwatch.Frequency;

    private static int s_cancelledCount; // a cheap emptiness check for the per-task path (IsEmpty takes the dictionary's locks)

    private static void RememberCancelled(ObjectId resultId)
    {
        var now = System.Diagnostics.Stopwatch.GetTimestamp();
        if (Volatile.Read(ref s_cancelledCount) >= 1024)
            foreach (var (id, at) in s_cancelledBeforeStart)
                if (now - at > s_forgetAfterTicks) Forget(id);
        if (s_cancelledBeforeStart.TryAdd(resultId, now)) Interlocked.Increment(ref s_cancelledCount);
    }

    private static bool Forget(ObjectId resultId)
    {
        if (!s_cancelledBeforeStart.TryRemove(resultId, out _)) return false;
        Interlocked.Decrement(ref s_cancelledCount);
        return true;
    }

    /// <summary>True (once) when the task with this result was cancelled before it started here.</summary>
    private static bool TakeCancelledBeforeStart(ObjectId resultId) =>
        Volatile.Read(ref s_cancelledCount) != 0 && Forget(resultId);

    /// <summary>The raylet passed a cancel on: the task with that result is cancelled if it runs here now, else skipped when it comes up.</summary>
    internal static void CancelRunning(ObjectId resultId)
    {
        if (resultId == ObjectId.Nil) return;
        // Recorded first: a task entering its run meanwhile finds it there (EnterRunning takes it).
        RememberCancelled(resultId);
        foreach (var s in s_live.Keys)
        {
            List<SubmittedTask>? children = null;
            CancellationTokenSource? cts;
            lock (s._cancelLock)
            {
                if (s._runningId != resultId || resultId == ObjectId.Nil) continue;
                Forget(resultId); // it runs: its token takes the cancel
                s._runningCancelled = true;
                cts = s._runningCts;
                (children, s._runningChildren) = (s._runningChildren, null);
            }
            // Outside the lock: the token's callbacks are user code. The task may end meanwhile
            // and dispose the source: then there is nobody left to tell.
            try { cts?.Cancel(); }
            catch (ObjectDisposedException) { }
            if (children is not null)
                foreach (var c in children) c.Core.CancelTask(c, force: false, recursive: true);
            return;
        }
    }
}
