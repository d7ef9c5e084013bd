using System.Buffers;
using Ray.Contract.Messages;
using Ray.Contract.Resources;
using Ray.Protocol;

namespace Ray.Raylet.Tests;

/// <summary>A placement group's bundles (Ray.Contract.Resources), as the embedded scheduler and the raylet use them, and their wire messages.</summary>
public sealed class PlacementBundlesTests
{
    private static readonly ResourceLedger Node0 = ResourceLedger.FromAmounts([new("CPU", 4), new("GPU", 1)]);

    private static ResourceSet Set(double cpu, double gpu = 0) => new([ResourceUnits.ToFixed(cpu), ResourceUnits.ToFixed(gpu)]);

    private static ResourceLedger Node() => ResourceLedger.FromAmounts([new("CPU", 4), new("GPU", 1)]);

    [Fact]
    public void Reservation_is_all_or_nothing_and_bundles_are_acquired_from_only_once_reserved()
    {
        var node = Node();
        Assert.True(node.TryAcquire(Set(2)));
        var group = new PlacementBundles(Node0.Names, [Set(2), Set(1, 1)]);
        Assert.Equal(-1, group.TryAcquire(-1, Set(1))); // pending: nothing to acquire from
        Assert.False(group.TryReserve(node)); // 3 CPU asked, 2 free: nothing taken
        Assert.Equal(ResourceUnits.ToFixed(2), node.Available.Amounts[0]);
        node.Release(Set(2));
        Assert.True(group.TryReserve(node));
        Assert.Equal(ResourceUnits.ToFixed(1), node.Available.Amounts[0]);
        Assert.Equal(0, node.Available.Amounts[1]);
        Assert.Equal(1, group.TryAcquire(1, Set(1, 1)));
        Assert.Equal(0, group.TryAcquire(-1, Set(1))); // any: the first with room
        Assert.Equal(0, group.TryAcquire(-1, Set(1)));
        Assert.Equal(-1, group.TryAcquire(-1, Set(1))); // all full
        Assert.True(group.IsFeasible(-1, Set(2)));
        Assert.False(group.IsFeasible(1, Set(2)));
    }

    [Fact]
    public void Removal_gives_the_free_part_back_now_and_held_parts_as_they_are_released()
    {
        var node = Node();
        var group = new PlacementBundles(Node0.Names, [Set(2), Set(1)]);
        Assert.True(group.TryReserve(node));
        Assert.Equal(0, group.TryAcquire(0, Set(1)));
        group.Remove(node);
        Assert.Equal(ResourceUnits.ToFixed(3), node.Available.Amounts[0]); // 4 - 3 reserved + 2 free
        Assert.Equal(-1, group.TryAcquire(-1, Set(1)));
        group.Release(0, Set(1), node);
        Assert.Equal(node.Total.Amounts[0], node.Available.Amounts[0]);
        group.Remove(node); // idempotent
        Assert.Equal(node.Total.Amounts[0], node.Available.Amounts[0]);
    }

    [Fact]
    public void An_oversubscribed_bundle_never_gives_the_node_more_than_the_group_took()
    {
        var node = Node();
        var group = new PlacementBundles(Node0.Names, [Set(1)]);
        Assert.True(group.TryReserve(node));
        Assert.Equal(0, group.TryAcquire(0, Set(1)));
        group.Release(0, Set(1), node);    // a task blocks in Get: its CPU is lent
        Assert.Equal(0, group.TryAcquire(0, Set(1))); // a child takes it
        group.ForceAcquire(0, Set(1), node); // the parent resumes: the bundle is at -1
        group.Remove(node);
        group.Release(0, Set(1), node);
        group.Release(0, Set(1), node);
        Assert.Equal(node.Total.Amounts[0], node.Available.Amounts[0]); // exactly back, no "released more than held"
    }

    [Fact]
    public void Bad_groups_are_refused()
    {
        Assert.Throws<ArgumentException>(() => new PlacementBundles(Node0.Names, []));
        Assert.Throws<ArgumentException>(() => new PlacementBundles(Node0.Names, [Set(0)]));
    }

    [Fact]
    public void Placement_group_messages_round_trip_and_malformed_ones_are_refused()
    {
        var spec = new PlacementGroupSpec(7, 9, "g", 2, true, [[new ResourceAmount("CPU", 10_000)], [new ResourceAmount("GPU", 5_000)]]);
        var back = ClusterCodec.DecodeCreatePlacementGroup(new ReadOnlySequence<byte>(ClusterCodec.EncodeCreatePlacementGroup(spec)));
        Assert.Equal((spec.Owner, spec.Sequence, spec.Name, spec.Strategy, spec.Detached), (back.Owner, back.Sequence, back.Name, back.Strategy, back.Detached));
        Assert.Equal(spec.Bundles[1], back.Bundles[1]);

        var lease = ClusterCodec.DecodeRequestLease(new ReadOnlySequence<byte>(ClusterCodec.EncodeRequestLease(LeasePurpose.Actor, [new("CPU", 1)], new LeasePlacement(7, 9, -1))));
        Assert.Equal(new LeasePlacement(7, 9, -1), lease.Placement);
        Assert.Null(ClusterCodec.DecodeRequestLease(new ReadOnlySequence<byte>(ClusterCodec.EncodeRequestLease(LeasePurpose.Task, []))).Placement);

        var rows = new List<PlacementGroupRow> { new(new PlacementGroupSpecView(7, 9, "g", 0, false), 1, 3, [[new ResourceUsage("CPU", 2, 1)]]) };
        var table = ClusterCodec.DecodePlacementGroupTable(new ReadOnlySequence<byte>(ClusterCodec.EncodePlacementGroupTable(rows)));
        Assert.Equal(rows[0].Usage[0][0], Assert.Single(table).Usage[0][0]);

        var bytes = ClusterCodec.EncodeCreatePlacementGroup(spec);
        var badStrategy = (byte[])bytes.Clone();
        badStrategy[8 + 8 + 2 + 1] = 9; // owner, sequence, name length (u16), "g", then the strategy
        Assert.Throws<ProtocolException>(() => ClusterCodec.DecodeCreatePlacementGroup(new ReadOnlySequence<byte>(badStrategy)));
        Assert.Throws<ProtocolException>(() => ClusterCodec.DecodeCreatePlacementGroup(new ReadOnlySequence<byte>(bytes.AsMemory(0, bytes.Length - 3))));
        var empty = ClusterCodec.EncodeCreatePlacementGroup(spec with { Bundles = [[new ResourceAmount("CPU", 0)]] });
        Assert.Throws<ProtocolException>(() => ClusterCodec.DecodeCreatePlacementGroup(new ReadOnlySequence<byte>(empty)));
    }
}
