using Ray.Scheduling;
using Ray.Tasks;

namespace Ray.Workers;

/// <summary>
/// What the current thread is running: set on worker and actor threads. Lets Get give the
/// worker's resources back while it blocks, and lets user code reach its task's context.
/// </summary>
internal sealed class WorkerContext
{
    [ThreadStatic] private static WorkerContext? t_current;

    internal WorkerContext(Runtime.RuntimeCore core, IWorkerPool? pool)
    {
        Core = core;
        Pool = pool;
    }

    internal static WorkerContext? Current => t_current;

    /// <summary>
    /// In a worker process: called when a thread running a task blocks in Get (nested tasks), so
    /// the raylet lends the task's resources out meanwhile. Dispose the scope when it resumes.
    /// </summary>
    internal static Func<IDisposable?>? ProcessBlockedHook { get; set; }

    /// <summary>The blocked scope for this thread: its worker context's, else the process's hook.</summary>
    internal static IDisposable? EnterBlockedAny() => t_current is { } c ? c.EnterBlocked() : ProcessBlockedHook?.Invoke();

    internal Runtime.RuntimeCore Core { get; }
    internal IWorkerPool? Pool { get; }

    /// <summary>The task or actor call running now, if any.</summary>
    internal SubmittedTask? CurrentTask { get; set; }

    /// <summary>The in-process actor whose thread (or call) this is: the owner of actors made here.</summary>
    internal Actors.ActorInstance? Actor { get; init; }

    /// <summary>Resources held by what runs now (a task's lease); given back while blocked.</summary>
    internal ResourceSet? Held { get; set; }

    /// <summary>The placement group bundle <see cref="Held"/> came from (the running task's class is placed), else -1.</summary>
    internal int HeldBundle { get; set; } = -1;

    internal static void Install(WorkerContext context) => t_current = context;

    internal static WorkerContext? Swap(WorkerContext? context)
    {
        var prev = t_current;
        t_current = context;
        return prev;
    }

    /// <summary>Called before this thread blocks in Get or Wait; dispose after it resumes.</summary>
    internal BlockedScope? EnterBlocked()
    {
        if (CurrentTask is null) return null;
        var held = Held;
        var placement = CurrentTask.Class.Placement;
        var bundle = HeldBundle;
        if (held is not null) Core.Scheduler.ReleaseWhileBlocked(held, placement, bundle);
        Pool?.OnWorkerBlocked();
        return new BlockedScope(this, held, placement, bundle);
    }

    internal sealed class BlockedScope(WorkerContext context, ResourceSet? held, PlacementGroups.BundlePlacement? placement, int bundle) : IDisposable
    {
        public void Dispose()
        {
            context.Pool?.OnWorkerUnblocked();
            if (held is not null) context.Core.Scheduler.ReacquireAfterBlocked(held, placement, bundle);
        }
    }
}
