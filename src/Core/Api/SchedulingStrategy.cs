namespace Ray;

/// <summary>Where a task or actor is placed (Ray's <c>scheduling_strategy</c>); null: anywhere with room.</summary>
public abstract record SchedulingStrategy
{
    private protected SchedulingStrategy() { }
}

/// <summary>
/// Places a task or actor into a bundle of a placement group: it holds its resources out of
/// that bundle's reservation, not the node's free resources (Ray's
/// <c>PlacementGroupSchedulingStrategy</c>). A request that fits no bundle (or not the chosen
/// one) is refused when submitted; a task submitted while the group is pending waits for it.
/// </summary>
/// <param name="PlacementGroup">The group.</param>
/// <param name="BundleIndex">The bundle, or -1 (default) for any bundle with room.</param>
/// <param name="CaptureChildTasks">
/// Tasks and actors this one submits without a strategy of their own go into the same group
/// (any bundle), as in Ray. Default false.
/// </param>
public sealed record PlacementGroupSchedulingStrategy(PlacementGroup PlacementGroup, int BundleIndex = -1, bool CaptureChildTasks = false)
    : SchedulingStrategy;
