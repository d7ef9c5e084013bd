using System.Collections.Concurrent;
using Ray.Tasks;

namespace Ray.Scheduling;

/// <summary>
/// Tasks with the same resource shape share a class: one ready queue, and leases granted per
/// class. A worker holding a lease runs the class's tasks back to back without going through
/// the scheduler again, which is how Ray reuses a leased worker for many tasks.
/// </summary>
internal sealed class SchedulingClass(int index, ResourceSet request, string description, PlacementGroups.BundlePlacement? placement = null)
{
    /// <summary>The placement group bundle this class's tasks hold their resources from; null: the node's free resources.</summary>
    internal PlacementGroups.BundlePlacement? Placement { get; } = placement;

    internal int Index { get; } = index;
    internal ResourceSet Request { get; } = request;
    internal string Description { get; } = description;

    /// <summary>Tasks whose arguments are ready, in submission order.</summary>
    internal ConcurrentQueue<SubmittedTask> Ready { get; } = new();

    /// <summary>
    /// Lease holders spinning on this queue right now. While one spins, a new task needs no
    /// wake-up: waking a parked thread would cost tens of microseconds for nothing.
    /// </summary>
    internal int Spinners;

    /// <summary>Leases of this class held by workers (guarded by the scheduler's lock).</summary>
    internal int Leases { get; set; }
}
