using Ray.Contract.Resources;

namespace Ray.Raylet.Tests;

/// <summary>The one resource ledger (Ray.Contract.Resources) that the embedded scheduler and the raylet's node table both use.</summary>
public sealed class ResourceLedgerTests
{
    private static ResourceLedger Ledger(params (string Name, double Amount)[] totals) =>
        ResourceLedger.FromAmounts(totals.Select(t => new KeyValuePair<string, double>(t.Name, t.Amount)).ToList());

    private static ResourceSet Set(ResourceLedger ledger, params (string Name, double Amount)[] amounts)
    {
        var set = ledger.Names.Empty();
        foreach (var (name, amount) in amounts)
        {
            Assert.True(ledger.Names.TryIndexOf(name, out var i));
            set.Amounts[i] = ResourceUnits.ToFixed(amount);
        }
        return set;
    }

    [Fact]
    public void Acquire_is_all_or_nothing()
    {
        var ledger = Ledger(("CPU", 2), ("GPU", 1));
        Assert.True(ledger.TryAcquire(Set(ledger, ("CPU", 1), ("GPU", 1))));
        Assert.False(ledger.TryAcquire(Set(ledger, ("CPU", 1), ("GPU", 1)))); // CPU fits, GPU does not: nothing taken
        Assert.Equal(ResourceUnits.ToFixed(1), ledger.Available.Amounts[0]);
        Assert.True(ledger.TryAcquire(Set(ledger, ("CPU", 1))));
        ledger.Release(Set(ledger, ("CPU", 1), ("GPU", 1)));
        Assert.Equal(ResourceUnits.ToFixed(1), ledger.Available.Amounts[0]);
        Assert.Equal(ResourceUnits.ToFixed(1), ledger.Available.Amounts[1]);
    }

    [Fact]
    public void Fractions_add_up_exactly()
    {
        var ledger = Ledger(("CPU", 1));
        var tenth = Set(ledger, ("CPU", 0.1));
        for (var i = 0; i < 10; i++) Assert.True(ledger.TryAcquire(tenth));
        Assert.False(ledger.TryAcquire(tenth)); // ten tenths are exactly one CPU, not 0.9999...
        Assert.Equal(0, ledger.Available.Amounts[0]);
        for (var i = 0; i < 10; i++) ledger.Release(tenth);
        Assert.Equal(ledger.Total.Amounts[0], ledger.Available.Amounts[0]);
    }

    [Fact]
    public void Releasing_more_than_is_held_is_refused_and_changes_nothing()
    {
        var ledger = Ledger(("CPU", 2), ("GPU", 1));
        Assert.True(ledger.TryAcquire(Set(ledger, ("CPU", 1))));
        var e = Assert.Throws<InvalidOperationException>(() => ledger.Release(Set(ledger, ("CPU", 1), ("GPU", 1))));
        Assert.Contains("GPU", e.Message);
        Assert.Equal(ResourceUnits.ToFixed(1), ledger.Available.Amounts[0]); // the CPU part was not added back either
    }

    [Fact]
    public void Force_acquire_oversubscribes_until_released()
    {
        var ledger = Ledger(("CPU", 1));
        var one = Set(ledger, ("CPU", 1));
        Assert.True(ledger.TryAcquire(one));
        ledger.ForceAcquire(one);
        Assert.False(ledger.CanAcquire(Set(ledger, ("CPU", 0.1))));
        ledger.Release(one);
        Assert.False(ledger.CanAcquire(Set(ledger, ("CPU", 0.1))));
        ledger.Release(one);
        Assert.True(ledger.CanAcquire(one));
    }

    [Fact]
    public void Resolve_adds_duplicates_and_names_what_can_never_fit()
    {
        var ledger = Ledger(("CPU", 2), ("disk", 1));
        var set = ledger.Resolve([new("CPU", ResourceUnits.ToFixed(0.5)), new("CPU", ResourceUnits.ToFixed(0.5)), new("disk", 0)], out var why);
        Assert.Null(why);
        Assert.Equal(ResourceUnits.ToFixed(1), set!.Amounts[0]);
        Assert.Null(ledger.Resolve([new("GPU", ResourceUnits.ToFixed(1))], out why));
        Assert.Contains("no resource 'GPU'", why);
        Assert.Null(ledger.Resolve([new("CPU", ResourceUnits.ToFixed(3))], out why));
        Assert.Contains("in total", why);
        Assert.Null(ledger.Resolve([new("CPU", -1)], out why));
        Assert.Contains("negative", why);
    }

    [Theory]
    [InlineData(double.NaN, "NaN")]
    [InlineData(double.PositiveInfinity, "infinity")]
    [InlineData(-1.0, "negative")]
    [InlineData(2e14, "too large")]
    public void Bad_amounts_and_names_are_refused_by_the_one_rule(double amount, string why)
    {
        var e = Assert.Throws<ArgumentException>(() => Ledger(("CPU", amount)));
        Assert.Contains(why, e.Message);
        Assert.Throws<ArgumentException>(() => Ledger(("", 1)));
        Assert.Throws<ArgumentException>(() => Ledger(("my gpu", 1)));
        Assert.Throws<ArgumentException>(() => Ledger(("CPU", 1), ("CPU", 2)));
    }

    [Fact]
    public void One_cap_everywhere_the_embedded_options_the_node_table_and_the_wire()
    {
        Assert.Equal(1e14, ResourceUnits.MaxAmount);
        Assert.Null(ResourceUnits.Problem("x", 1e14));
        // The embedded runtime's options, the raylet's node table and the status codec all refuse just above it.
        var embedded = Assert.Throws<ArgumentException>(() => RayRuntime.Start(new RuntimeOptions { NumCpus = 1, Resources = new Dictionary<string, double> { ["big"] = 1.5e14 } }));
        Assert.Contains("too large", embedded.Message);
        var node = Assert.Throws<ArgumentException>(() => new Ray.Raylet.Node.NodeResources([new("big", 1.5e14)]));
        Assert.Contains("too large", node.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => Ray.Contract.Messages.ClusterCodec.ToFixed(1.5e14));
        using var rt = RayRuntime.Start(new RuntimeOptions { NumCpus = 1, Resources = new Dictionary<string, double> { ["big"] = 1e14 } });
        Assert.Equal(1e14, rt.ClusterResources["big"]);
    }
}
