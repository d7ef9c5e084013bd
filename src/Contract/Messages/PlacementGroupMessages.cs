namespace Ray.Contract.Messages;

/// <summary>A placement group as CreatePlacementGroup carries it.</summary>
/// <param name="Owner">The id's owner half (the creating driver's owner id).</param>
/// <param name="Sequence">The id's sequence half.</param>
/// <param name="Name">Its name, or "" for none.</param>
/// <param name="Strategy">0 PACK, 1 SPREAD, 2 STRICT_PACK, 3 STRICT_SPREAD.</param>
/// <param name="Detached">Outlives its job.</param>
/// <param name="Bundles">Each bundle's resources in wire units.</param>
internal sealed record PlacementGroupSpec(ulong Owner, ulong Sequence, string Name, byte Strategy, bool Detached,
    IReadOnlyList<IReadOnlyList<ResourceAmount>> Bundles);

/// <summary>One row of the PlacementGroupTable reply (and of the status report).</summary>
/// <param name="Spec">What it was created with.</param>
/// <param name="State">0 pending, 1 created, 2 removed.</param>
/// <param name="JobId">The job that created it.</param>
/// <param name="Usage">Each bundle's resources: total and what its work holds now.</param>
public sealed record PlacementGroupRow(PlacementGroupSpecView Spec, byte State, uint JobId, IReadOnlyList<IReadOnlyList<ResourceUsage>> Usage);

/// <summary>The public view of a placement group's spec (for status output).</summary>
/// <param name="Owner">The id's owner half.</param>
/// <param name="Sequence">The id's sequence half.</param>
/// <param name="Name">Its name, or "".</param>
/// <param name="Strategy">0 PACK, 1 SPREAD, 2 STRICT_PACK, 3 STRICT_SPREAD.</param>
/// <param name="Detached">Outlives its job.</param>
public sealed record PlacementGroupSpecView(ulong Owner, ulong Sequence, string Name, byte Strategy, bool Detached)
{
    /// <summary>The strategy's name as Ray writes it.</summary>
    public string StrategyName => Strategy switch { 0 => "PACK", 1 => "SPREAD", 2 => "STRICT_PACK", 3 => "STRICT_SPREAD", _ => "?" };

    /// <summary>"pg-owner-seq", as the driver prints ids.</summary>
    public string IdText => $"pg-{Owner:x}-{Sequence:x}";
}

/// <summary>Where a lease goes in a placement group (the optional tail of RequestLease).</summary>
internal readonly record struct LeasePlacement(ulong Owner, ulong Sequence, int Bundle);
