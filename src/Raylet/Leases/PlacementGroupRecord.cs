using Ray.Contract.Messages;
using Ray.Contract.Resources;

namespace Ray.Raylet.Leases;

/// <summary>
/// A placement group on this node: what it was created with, its bundles (reserved out of the
/// node's resources when they fit), and the WaitPlacementGroup requests waiting for it.
/// Guarded by the <see cref="LeaseManager"/>'s lock.
/// </summary>
internal sealed class PlacementGroupRecord(PlacementGroupSpec spec, uint jobId, PlacementBundles bundles)
{
    internal PlacementGroupSpec Spec { get; } = spec;
    internal (ulong, ulong) Key => (Spec.Owner, Spec.Sequence);
    internal uint JobId { get; } = jobId;
    internal PlacementBundles Bundles { get; } = bundles;

    /// <summary>0 pending, 1 created, 2 removed (as on the wire).</summary>
    internal byte State { get; set; }

    /// <summary>Requests waiting for it to be created: answered on their connection by request id.</summary>
    internal List<(Server.IFrameSink Sink, ulong RequestId)> Waiters { get; } = [];

    /// <summary>"pg-owner-seq 'name'" for logs and errors.</summary>
    public override string ToString() => $"pg-{Spec.Owner:x}-{Spec.Sequence:x}" + (Spec.Name.Length > 0 ? $" '{Spec.Name}'" : "");
}
