namespace Ray.Cluster.Tests;

/// <summary>
/// A connected driver's resource views read the raylet's one ledger: what actors and leases of
/// this (or any) driver hold on the node shows, and comes back when they end.
/// </summary>
[Collection("cluster")]
public sealed class ClusterResourcesTests
{
    [Fact]
    public async Task An_actor_holding_a_cpu_shows_in_available_resources_until_it_is_killed()
    {
        await using var cluster = await ClusterScope.StartAsync(cpus: 3);
        await using var ray = cluster.Connect();
        Assert.Equal(3, ray.ClusterResources["CPU"]);
        Assert.True(ray.ClusterResources.ContainsKey("object_store_memory"), "the node's totals come from the raylet");
        Assert.True(await ClusterScope.WaitUntilAsync(() => ray.AvailableResources["CPU"] == 3, TimeSpan.FromSeconds(10)));

        var counter = ray.Actor<Counter>(new ActorOptions { NumCpus = 1 }).Remote(0L);
        Assert.Equal(1L, await counter.Task((Counter c, long x) => c.Add(x)).Remote(1L)); // the actor is up: its lease is held
        Assert.Equal(2, ray.AvailableResources["CPU"]);
        Assert.Equal(2, (await ray.AvailableResourcesAsync())["CPU"]);

        ray.Kill(counter);
        Assert.True(await ClusterScope.WaitUntilAsync(() => ray.AvailableResources["CPU"] == 3, TimeSpan.FromSeconds(10)),
            $"CPU available after the kill: {ray.AvailableResources["CPU"]}");
    }

    [Fact]
    public async Task A_second_driver_sees_what_the_first_drivers_actor_holds()
    {
        await using var cluster = await ClusterScope.StartAsync(cpus: 2);
        await using var first = cluster.Connect();
        var counter = first.Actor<Counter>(new ActorOptions { NumCpus = 0.5 }).Remote(0L);
        Assert.Equal(0L, await counter.Task((Counter c) => c.Value()).Remote());
        await using var second = cluster.Connect();
        Assert.Equal(1.5, second.AvailableResources["CPU"], 4);
        Assert.Equal(2, second.ClusterResources["CPU"]);
        GC.KeepAlive(counter);
    }

    [Fact]
    public async Task With_the_raylet_gone_the_resource_views_fail_with_a_cluster_error_not_a_hang()
    {
        await using var cluster = await ClusterScope.StartAsync(cpus: 1);
        await using var ray = cluster.Connect();
        Assert.Equal(1, ray.ClusterResources["CPU"]);
        ClusterScope.Kill(cluster.RayletPid);
        var started = DateTime.UtcNow;
        Assert.Throws<RayClusterException>(() => ray.AvailableResources);
        await Assert.ThrowsAsync<RayClusterException>(() => ray.ClusterResourcesAsync());
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(15), "the views waited past the status timeout");
    }
}
