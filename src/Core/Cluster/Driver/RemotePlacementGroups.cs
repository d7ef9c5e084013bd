using System.Buffers;
using Ray.PlacementGroups;
using Ray.Scheduling;

namespace Ray.Cluster.Driver;

/// <summary>
/// A connected runtime's placement groups live on the raylet (the reservation, the name table
/// every driver shares, the removal of what runs in them); these are the driver's requests.
/// </summary>
internal static class RemotePlacementGroups
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    /// <summary>Registers the group with the raylet; true when it was reserved at once, false when pending.</summary>
    /// <exception cref="ResourcesUnsatisfiableException">The node can never hold it.</exception>
    /// <exception cref="ArgumentException">Its name is taken (by any driver).</exception>
    internal static bool Create(ClusterSession session, PlacementGroupEntry group, ResourceRegistry registry)
    {
        var spec = Spec(group, registry);
        try
        {
            // A blocking public call (ray.PlacementGroup), as Ray's: one round trip, answered by the
            // control link's receive thread, never by this one.
            var reply = session.Link.Request((ushort)ClusterMessageKind.CreatePlacementGroup, ClusterCodec.EncodeCreatePlacementGroup(spec), Timeout);
            return ClusterCodec.DecodeCreatedFlag(new ReadOnlySequence<byte>(reply));
        }
        catch (RayClusterException e) when (Refusal(group, e) is { } refusal) { throw refusal; }
    }

    // What a refused create means to the caller: a group the node can never hold, or a taken name.
    private static Exception? Refusal(PlacementGroupEntry group, RayClusterException e) => e.WireCode switch
    {
        ClusterErrorCode.Infeasible => new ResourcesUnsatisfiableException($"Placement group {group.Describe()} could never be created: {e.Message}"),
        ClusterErrorCode.AlreadyExists => new ArgumentException(e.Message, "name", e),
        _ => null,
    };

    /// <summary>As <see cref="Create"/>, not waiting: the task completes with the reply (true: created, false: pending).</summary>
    internal static async Task<bool> CreateAsync(ClusterSession session, PlacementGroupEntry group, ResourceRegistry registry)
    {
        var spec = Spec(group, registry);
        try
        {
            var reply = await session.Link.RequestAsync((ushort)ClusterMessageKind.CreatePlacementGroup, ClusterCodec.EncodeCreatePlacementGroup(spec), Timeout).ConfigureAwait(false);
            return ClusterCodec.DecodeCreatedFlag(new ReadOnlySequence<byte>(reply));
        }
        catch (RayClusterException e) when (Refusal(group, e) is { } refusal) { throw refusal; }
    }

    private static PlacementGroupSpec Spec(PlacementGroupEntry group, ResourceRegistry registry)
    {
        var bundles = new List<IReadOnlyList<ResourceAmount>>(group.Bundles.Count);
        for (var i = 0; i < group.Bundles.Count; i++) bundles.Add(ClusterWorkerPool.ToWire(group.Bundles.Demand(i), registry));
        return new PlacementGroupSpec(group.Id.Owner, group.Id.Sequence, group.Name ?? "", (byte)group.Strategy,
            group.Lifetime == PlacementGroupLifetime.Detached, bundles);
    }

    /// <summary>Completes when the raylet has reserved the group; faults with the removal when it is removed first.</summary>
    internal static async Task WaitAsync(ClusterSession session, PlacementGroupEntry group)
    {
        try
        {
            await session.Link.RequestAsync((ushort)ClusterMessageKind.WaitPlacementGroup,
                ClusterCodec.EncodePlacementGroupId(group.Id.Owner, group.Id.Sequence), System.Threading.Timeout.InfiniteTimeSpan).ConfigureAwait(false);
        }
        catch (RayClusterException e) when (e.WireCode == ClusterErrorCode.PlacementGroupRemoved)
        {
            throw group.RemovedError();
        }
    }

    /// <summary>One-way: the raylet handles it before anything this driver sends later.</summary>
    internal static void Remove(ClusterSession session, PlacementGroupId id)
    {
        if (session.Link.IsClosed) return;
        session.Link.Send((ushort)ClusterMessageKind.RemovePlacementGroup, ClusterCodec.EncodePlacementGroupId(id.Owner, id.Sequence));
    }

    /// <summary>The raylet's live groups (every driver's).</summary>
    internal static IReadOnlyList<PlacementGroupInfo> Table(ClusterSession session, ResourceRegistry registry) =>
        Rows(session).Select(r => Info(r, registry)).ToList();

    /// <summary>The live group named <paramref name="name"/> on the raylet, as an entry of this runtime (not owned by it), or null.</summary>
    internal static PlacementGroupEntry? Find(ClusterSession session, string name, ResourceRegistry registry) =>
        Find(session, ClusterCodec.EncodePlacementGroupFilter(name), r => r.Spec.Name == name, registry);

    /// <summary>The live group with this id on the raylet (a worker's task placed into another driver's group), or null.</summary>
    internal static PlacementGroupEntry? Find(ClusterSession session, PlacementGroupId id, ResourceRegistry registry) =>
        Find(session, ClusterCodec.EncodePlacementGroupFilter(null, id.Owner, id.Sequence), r => r.Spec.Owner == id.Owner && r.Spec.Sequence == id.Sequence, registry);

    // Asks the raylet for the one group (a filtered table request: no cap on how many groups exist).
    private static PlacementGroupEntry? Find(ClusterSession session, byte[] filter, Func<PlacementGroupRow, bool> match, ResourceRegistry registry)
    {
        var row = Rows(session, filter).FirstOrDefault(r => match(r) && r.State != 2);
        if (row is null) return null;
        var info = Info(row, registry);
        var sets = info.Bundles.Select(b => registry.Build(b, out _)).ToList();
        var entry = new PlacementGroupEntry(info.Id, info.Name, info.Strategy, info.Lifetime, info.Bundles, new PlacementBundles(registry.Names, sets), owned: false);
        if (row.State == 1) entry.MarkCreated();
        else entry.WaitThrough(() => WaitAsync(session, entry));
        return entry;
    }

    private static List<PlacementGroupRow> Rows(ClusterSession session, byte[]? filter = null)
    {
        // A blocking public call: answered by the control link's receive thread.
        var reply = session.Link.Request((ushort)ClusterMessageKind.PlacementGroupTable, filter ?? [], Timeout);
        return ClusterCodec.DecodePlacementGroupTable(new ReadOnlySequence<byte>(reply));
    }

    private static PlacementGroupInfo Info(PlacementGroupRow row, ResourceRegistry registry)
    {
        var bundles = row.Usage.Select(b => (IReadOnlyDictionary<string, double>)b.ToDictionary(u => u.Name, u => u.Total, StringComparer.Ordinal)).ToList();
        return new PlacementGroupInfo(new PlacementGroupId(row.Spec.Owner, row.Spec.Sequence), row.Spec.Name.Length == 0 ? null : row.Spec.Name,
            (PlacementGroupState)row.State, (PlacementStrategy)row.Spec.Strategy,
            row.Spec.Detached ? PlacementGroupLifetime.Detached : PlacementGroupLifetime.Job, bundles);
    }
}
