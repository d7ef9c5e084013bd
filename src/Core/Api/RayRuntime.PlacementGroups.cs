namespace Ray;

public sealed partial class RayRuntime
{
    /// <summary>
    /// Reserves <paramref name="bundles"/> together, all or nothing (Ray's
    /// <c>ray.util.placement_group</c>). Each bundle names its resources as tasks do: "CPU", "GPU",
    /// "memory" (bytes) and custom ones. Returns at once: the group is created when the
    /// resources are free (see <see cref="PlacementGroup.Ready"/>); tasks and actors placed into
    /// it with <see cref="PlacementGroupSchedulingStrategy"/> wait for that.
    /// </summary>
    /// <param name="bundles">One resource dictionary per bundle (at least one; each asks for something).</param>
    /// <param name="strategy">How bundles are laid out over nodes (default <see cref="PlacementStrategy.Pack"/>).</param>
    /// <param name="name">A name for <see cref="GetPlacementGroup"/>, unique among live groups (cluster-wide when connected); null for none.</param>
    /// <param name="lifetime">Removed with its job (default) or kept until removed (<see cref="PlacementGroupLifetime.Detached"/>).</param>
    /// <exception cref="ArgumentException">No bundle, an empty or invalid bundle, a blank name, or a name already taken.</exception>
    /// <exception cref="ResourcesUnsatisfiableException">The node could never hold the whole group (more than its total, a resource it lacks, or STRICT_SPREAD over several bundles on one node).</exception>
    public PlacementGroup PlacementGroup(IReadOnlyList<IReadOnlyDictionary<string, double>> bundles,
        PlacementStrategy strategy = PlacementStrategy.Pack, string? name = null, PlacementGroupLifetime lifetime = PlacementGroupLifetime.Job) =>
        new(Core.PlacementGroups.Create(bundles, strategy, name, lifetime));

    /// <summary>The live placement group named <paramref name="name"/> (any driver's, when connected).</summary>
    /// <exception cref="KeyNotFoundException">No live group has that name.</exception>
    public PlacementGroup GetPlacementGroup(string name) =>
        TryGetPlacementGroup(name) ?? throw new KeyNotFoundException($"No live placement group is named '{name}'.");

    /// <summary>The live placement group named <paramref name="name"/>, or null.</summary>
    public PlacementGroup? TryGetPlacementGroup(string name) =>
        Core.PlacementGroups.Find(name) is { } entry ? new PlacementGroup(entry) : null;

    /// <summary>
    /// Removes a placement group (Ray's <c>remove_placement_group</c>): its reservation goes back
    /// to the node, its actors die (<see cref="ActorDiedException"/> with a
    /// <see cref="PlacementGroupRemovedException"/> inside), its queued and running tasks fail
    /// with <see cref="PlacementGroupRemovedException"/> (worker processes running them are
    /// stopped), and nothing more can be placed into it. Removing it again does nothing.
    /// </summary>
    public void RemovePlacementGroup(PlacementGroup placementGroup)
    {
        ArgumentNullException.ThrowIfNull(placementGroup);
        Core.PlacementGroups.Remove(placementGroup.Entry);
    }

    /// <summary>Every live placement group (Ray's <c>placement_group_table</c>): this runtime's, or every driver's when connected.</summary>
    public IReadOnlyList<PlacementGroupInfo> PlacementGroupTable() => Core.PlacementGroups.Table();
}
