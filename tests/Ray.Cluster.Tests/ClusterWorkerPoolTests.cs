namespace Ray.Cluster.Tests;

/// <summary>The node's worker pool over time: workers a burst needed go away once idle; the warm ones stay.</summary>
[Collection("cluster")]
public sealed class ClusterWorkerPoolTests
{
    [Fact]
    public async Task Workers_a_burst_started_are_stopped_once_idle_and_the_warm_one_stays()
    {
        await using var cluster = await ClusterScope.StartAsync(cpus: 1, extra: "--idle-worker-timeout-ms 300");
        await using var ray = cluster.Connect();
        // Parents that wait for children: each blocked parent lends its CPU, so the burst needs
        // more worker processes than the one CPU's warm worker (and nested drivers' own workers).
        var parents = Enumerable.Range(0, 3).Select(i => ray.Task(Fns.Nested).Remote(i)).ToArray();
        Assert.Equal(new[] { 1, 2, 3 }, ray.Get(parents, TimeSpan.FromSeconds(90)));
        var peak = cluster.WorkerPids().Count;
        Assert.True(peak > 1, $"the burst ran on {peak} worker process(es)");

        // The driver gives idle leases back after about a second, the raylet stops idle workers
        // beyond the job's warm one 300 ms later (the nested drivers' jobs keep none warm).
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (cluster.WorkerPids().Count > 1 && DateTime.UtcNow < deadline) await Task.Delay(100);
        var left = cluster.WorkerPids();
        Assert.True(left.Count == 1, $"{left.Count} worker processes left of {peak}\n{cluster.Log()}");
        Assert.Contains("idle for", cluster.Log());

        // The warm worker still serves, and a new burst starts workers again.
        Assert.Equal(left[0], await ray.Task(Fns.Pid).Remote());
        Assert.Equal(new[] { 11, 12 }, ray.Get(new[] { ray.Task(Fns.Nested).Remote(10), ray.Task(Fns.Nested).Remote(11) }, TimeSpan.FromSeconds(90)));
    }
}
