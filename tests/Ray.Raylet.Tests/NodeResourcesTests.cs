using Ray.Raylet.Node;

namespace Ray.Raylet.Tests;

public class NodeResourcesTests
{
    [Fact]
    public void Create_orders_built_in_resources_first_then_custom_by_name()
    {
        var r = NodeResources.Create(4, null, new Dictionary<string, double> { ["zeta"] = 1, ["alpha"] = 2.5 }, 1000, 500);
        Assert.Equal(["CPU", "GPU", "memory", "object_store_memory", "alpha", "zeta"], r.Names);
        Assert.Equal(4, r.Total("CPU"));
        Assert.Equal(0, r.Total("GPU"));
        Assert.Equal(2.5, r.Total("alpha"));
        Assert.Equal(Environment.ProcessorCount, NodeResources.Create(null, null, null, 0, 0).Total("CPU"));
    }

    [Fact]
    public void Acquire_is_all_or_nothing_and_release_gives_back_exactly()
    {
        var r = NodeResources.Create(2, 1, new Dictionary<string, double> { ["acc"] = 1 }, 0, 0);
        Assert.True(r.TryAcquire(new Dictionary<string, double> { ["CPU"] = 0.5, ["GPU"] = 1 }));
        Assert.False(r.TryAcquire(new Dictionary<string, double> { ["CPU"] = 0.5, ["GPU"] = 0.0001 })); // GPU short: CPU untouched
        Assert.Equal(1.5, r.Available("CPU"));
        Assert.False(r.TryAcquire(new Dictionary<string, double> { ["nonexistent"] = 1 }));
        Assert.True(r.TryAcquire(new Dictionary<string, double> { ["nonexistent"] = 0, ["CPU"] = 1.5 })); // zero of a missing resource is fine
        Assert.Equal(0, r.Available("CPU"));
        r.Release(new Dictionary<string, double> { ["CPU"] = 2, ["GPU"] = 1 });
        Assert.Equal(2, r.Available("CPU"));
        Assert.Throws<InvalidOperationException>(() => r.Release(new Dictionary<string, double> { ["CPU"] = 0.0001 }));
        Assert.All(r.Snapshot(), u => Assert.Equal(0, u.Used));
    }

    [Theory]
    [InlineData("CPU", "use --num-cpus")]
    [InlineData("GPU", "use --num-gpus")]
    [InlineData("memory", "set by the raylet")]
    [InlineData("", "empty")]
    [InlineData("has space", "whitespace")]
    public void Bad_custom_resources_are_refused(string name, string message)
    {
        var e = Assert.Throws<ArgumentException>(() => NodeResources.Create(1, 0, new Dictionary<string, double> { [name] = 1 }, 0, 0));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void Bad_amounts_and_too_many_resources_are_refused()
    {
        Assert.Throws<ArgumentException>(() => new NodeResources([new("x", double.NaN)]));
        Assert.Throws<ArgumentException>(() => new NodeResources([new("x", -1)]));
        Assert.Throws<ArgumentException>(() => new NodeResources([new("x", 1), new("x", 2)]));
        Assert.Throws<ArgumentException>(() => new NodeResources(Enumerable.Range(0, NodeResources.MaxResources + 1).Select(i => new KeyValuePair<string, double>("r" + i, 1))));
        Assert.Throws<ArgumentException>(() => NodeResources.Create(-1, 0, null, 0, 0));
    }

    [Fact]
    public void ResourceSpec_parses_a_json_object_of_numbers()
    {
        Assert.Empty(ResourceSpec.ParseJson(null));
        Assert.Empty(ResourceSpec.ParseJson("  "));
        Assert.Equal(new Dictionary<string, double> { ["a"] = 2, ["b"] = 0.25 }, ResourceSpec.ParseJson("{\"a\": 2, \"b\": 0.25}"));
        foreach (var bad in new[] { "{", "[]", "3", "{\"a\": \"2\"}", "{\"a\": -1}", "{\"a\": 1, \"a\": 2}", "{\"a\": {\"b\": 1}}" })
            Assert.Throws<FormatException>(() => ResourceSpec.ParseJson(bad));
    }
}
