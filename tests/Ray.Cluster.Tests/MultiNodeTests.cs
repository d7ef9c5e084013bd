namespace Ray.Cluster.Tests;

/// <summary>
/// Several raylets on this machine are several nodes: a node joins the head (`ray start
/// --address`), the head's node table lists it with its resources, and a node that dies is
/// marked dead.
/// </summary>
[Collection("cluster")]
public sealed class MultiNodeTests
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(20);

    private static async Task<string> StatusAsync(ClusterScope head)
    {
        var (code, output) = await ClusterScope.RunRayAsync(["status", "--session-dir", head.SessionDir]);
        Assert.True(code == 0, output);
        return output;
    }

    private static async Task<bool> StatusShowsAsync(ClusterScope head, string text)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        while (sw.Elapsed < Long)
        {
            if ((await StatusAsync(head)).Contains(text, StringComparison.Ordinal)) return true;
            await Task.Delay(100);
        }
        return false;
    }

    [Fact]
    public async Task Nodes_join_the_head_show_in_its_status_and_a_killed_node_is_marked_dead()
    {
        await using var head = await ClusterScope.StartAsync(cpus: 2);
        await using var second = await ClusterScope.JoinAsync(head, cpus: 1);
        await using var third = await ClusterScope.JoinAsync(head, cpus: 3, extra: "--resources {\"TPU\":2}");
        var status = await StatusAsync(head);
        Assert.Contains("Nodes: 3 (3 alive)", status);
        Assert.Contains(second.Address + " (worker, alive)", status);
        Assert.Contains(third.Address + " (worker, alive)", status);
        Assert.Contains(head.Address + " (head, alive)", status);
        Assert.Contains("TPU", status); // the joined node's own resources

        ClusterScope.Kill(second.RayletPid);
        Assert.True(await StatusShowsAsync(head, second.Address + " (worker, dead)"), await StatusAsync(head));
        Assert.Contains("Nodes: 3 (2 alive)", await StatusAsync(head));
    }

    [Fact]
    public async Task Joining_without_the_token_or_through_a_node_that_is_not_the_head_fails_with_the_reason()
    {
        await using var head = await ClusterScope.StartAsync(cpus: 1);
        var (code, output) = await ClusterScope.RunRayAsync(["start", "--address", head.Address, "--port", "0", "--session-dir", "/tmp/rcl-join-" + Guid.NewGuid().ToString("N")[..8]]);
        Assert.NotEqual(0, code);
        Assert.Contains("token", output);

        await using var second = await ClusterScope.JoinAsync(head);
        var dir = "/tmp/rcl-" + Guid.NewGuid().ToString("N")[..10];
        try
        {
            (code, output) = await ClusterScope.RunRayAsync(["start", "--address", second.SessionDir, "--port", "0", "--session-dir", dir, "--num-cpus", "1", "--object-store-memory", (64 << 20).ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            Assert.NotEqual(0, code);
            Assert.Contains("not the head", output + ReadLog(dir));
        }
        finally
        {
            await ClusterScope.RunRayAsync(["stop", "--session-dir", dir]);
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
        Assert.Contains("--head", (await ClusterScope.RunRayAsync(["start", "--port", "0"])).Output); // neither --head nor --address
    }

    private static string ReadLog(string dir) => File.Exists(Path.Combine(dir, "logs", "raylet.out")) ? File.ReadAllText(Path.Combine(dir, "logs", "raylet.out")) : "";
}
