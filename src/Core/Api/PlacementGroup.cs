using Ray.PlacementGroups;

namespace Ray;

/// <summary>
/// How a placement group's bundles are laid out over nodes (Ray's <c>strategy</c>). On one node
/// every strategy but <see cref="StrictSpread"/> places all bundles there; a
/// <see cref="StrictSpread"/> group of more than one bundle needs as many nodes.
/// </summary>
public enum PlacementStrategy
{
    /// <summary>Bundles on as few nodes as possible (the default).</summary>
    Pack,
    /// <summary>Bundles over as many nodes as possible.</summary>
    Spread,
    /// <summary>All bundles on one node, or the group is not created.</summary>
    StrictPack,
    /// <summary>Each bundle on a node of its own, or the group is not created.</summary>
    StrictSpread,
}

/// <summary>Where a placement group is in its life (Ray's placement group table states).</summary>
public enum PlacementGroupState
{
    /// <summary>Waiting for its bundles' resources to be free; nothing runs in it yet.</summary>
    Pending,
    /// <summary>Every bundle's resources are reserved: tasks and actors placed into it run.</summary>
    Created,
    /// <summary>Removed: its resources are back on the node, its actors killed, its tasks failed.</summary>
    Removed,
}

/// <summary>Who a placement group belongs to.</summary>
public enum PlacementGroupLifetime
{
    /// <summary>Removed when the job (driver) that made it ends (the default).</summary>
    Job,
    /// <summary>Outlives its job; removed only explicitly (a connected runtime; embedded, the runtime is the job).</summary>
    Detached,
}

/// <summary>
/// A placement group (Ray's <c>ray.util.placement_group</c>): resources reserved together, all
/// or nothing, as bundles that tasks and actors are then placed into with
/// <see cref="PlacementGroupSchedulingStrategy"/>. Made with
/// <see cref="RayRuntime.PlacementGroup"/>, found by name with <see cref="RayRuntime.GetPlacementGroup"/>,
/// removed with <see cref="RayRuntime.RemovePlacementGroup"/>.
/// </summary>
public sealed class PlacementGroup
{
    internal PlacementGroup(PlacementGroupEntry entry) => Entry = entry;

    internal PlacementGroupEntry Entry { get; }

    /// <summary>The group's id, unique in the cluster.</summary>
    public PlacementGroupId Id => Entry.Id;

    /// <summary>The name it was made with, or null.</summary>
    public string? Name => Entry.Name;

    /// <summary>How its bundles are laid out.</summary>
    public PlacementStrategy Strategy => Entry.Strategy;

    /// <summary>Who it belongs to.</summary>
    public PlacementGroupLifetime Lifetime => Entry.Lifetime;

    /// <summary>Each bundle's resources (by name; memory in bytes), by bundle index.</summary>
    public IReadOnlyList<IReadOnlyDictionary<string, double>> Bundles => Entry.BundleSpecs;

    /// <summary>Where it is in its life now.</summary>
    public PlacementGroupState State => Entry.State;

    /// <summary>
    /// Completes when every bundle is reserved (Ray's <c>pg.ready()</c>); faults with
    /// <see cref="PlacementGroupRemovedException"/> when the group is removed first (or was removed).
    /// </summary>
    public Task Ready() => Entry.ReadyAsync();

    /// <summary>
    /// Completes when every bundle is reserved; a cancel stops the wait only (the group stays).
    /// </summary>
    /// <exception cref="PlacementGroupRemovedException">The group was removed first.</exception>
    public Task ReadyAsync(CancellationToken cancellationToken) => Entry.ReadyAsync().WaitAsync(cancellationToken);

    /// <summary>
    /// Blocks until every bundle is reserved or <paramref name="timeout"/> passes (Ray's
    /// <c>pg.wait(timeout_seconds)</c>): true when created, false on timeout.
    /// </summary>
    /// <exception cref="PlacementGroupRemovedException">The group was removed (before or after it was created).</exception>
    public bool Wait(TimeSpan timeout)
    {
        var ready = Entry.ReadyAsync();
        // A blocking public call waiting on an event the raylet's reply (or the scheduler's
        // release path) completes, never this thread.
        try
        {
            if (!ready.Wait(timeout < TimeSpan.Zero ? TimeSpan.Zero : timeout)) return false;
        }
        catch (AggregateException) { } // rethrown unwrapped below
        ready.GetAwaiter().GetResult(); // throws the removal
        return true;
    }

    /// <inheritdoc />
    public override string ToString() => Entry.Describe();
}

/// <summary>Identifies a placement group for its whole life.</summary>
public readonly record struct PlacementGroupId(ulong Owner, ulong Sequence)
{
    /// <inheritdoc />
    public override string ToString() => $"pg-{Owner:x}-{Sequence:x}";
}

/// <summary>A row of <see cref="RayRuntime.PlacementGroupTable"/>.</summary>
/// <param name="Id">The group's id.</param>
/// <param name="Name">Its name, or null.</param>
/// <param name="State">Where it is in its life.</param>
/// <param name="Strategy">How its bundles are laid out.</param>
/// <param name="Lifetime">Who it belongs to.</param>
/// <param name="Bundles">Each bundle's resources.</param>
public sealed record PlacementGroupInfo(PlacementGroupId Id, string? Name, PlacementGroupState State, PlacementStrategy Strategy,
    PlacementGroupLifetime Lifetime, IReadOnlyList<IReadOnlyDictionary<string, double>> Bundles);
