namespace Ray.Serve.Tests;

[Collection("cluster")]
public sealed class ClusterTests
{
    [Fact]
    public async Task Replicas_run_in_worker_processes_serve_HTTP_compose_across_processes_and_are_replaced_when_killed()
    {
        await using var cluster = await LocalCluster.StartAsync();
        await using var t = await TestServe.StartAsync(ray: cluster.Connect());
        var h = t.Serve.Run(Serve.Deployment<Whoami>(new DeploymentOptions { NumReplicas = 2 }).Bind("W"), "w", "/w");
        var pids = t.Deployment("w", "Whoami").Replicas.Select(r => r.Pid).ToList();
        Assert.All(pids, p => Assert.NotEqual(Environment.ProcessId, p));
        Assert.Equal(2, pids.Distinct().Count());
        var bodies = await Task.WhenAll(Enumerable.Range(0, 40).Select(_ => t.PostAsync("/w/x", "hi")));
        Assert.All(bodies, b => { Assert.Equal(200, b.Status); Assert.EndsWith("POST /x hi", b.Body); });
        Assert.Equal(2, bodies.Select(b => b.Body.Split(' ')[1]).Distinct().Count());

        // Composition: the composer's handles reach the adder's replica from the composer's worker process.
        var composer = t.Serve.Run(Serve.Deployment<Composer>().Bind(Serve.Deployment<Adder>().Bind(1), Serve.Deployment<Doubler>().Bind()), "calc", "/calc");
        Assert.Equal(12, await composer.Remote((Composer c, int x) => c.Compute(x), 5));
        Assert.Equal((200, "8"), await t.PostAsync("/calc", "3"));
        var ps = (await composer.Remote((Composer c) => c.Pids())).Split(' ').Select(int.Parse).ToArray();
        Assert.DoesNotContain(Environment.ProcessId, ps);
        Assert.NotEqual(ps[0], ps[1]);

        // Streams from a worker process, through a handle and over HTTP.
        var streamer = t.Serve.Run(Serve.Deployment<Streamer>().Bind(), "stream", "/stream");
        var items = new List<int>();
        await foreach (var i in streamer.Stream((Streamer s, int n) => s.Count(n, default), 4)) items.Add(i);
        Assert.Equal([0, 1, 2, 3], items);
        Assert.Equal((200, "token 0\ntoken 1\n"), await t.PostAsync("/stream", "2"));

        // A replica's worker process killed: the controller replaces it.
        Ray.Tests.Shared.SessionProcesses.Kill(pids[0]);
        Assert.True(await TestServe.WaitUntilAsync(() =>
        {
            var d = t.Deployment("w", "Whoami");
            return d.Replicas.Count(r => r.State == "RUNNING") == 2 && d.Replicas.All(r => r.Pid != pids[0]);
        }, TimeSpan.FromSeconds(30)), t.Deployment("w", "Whoami").ToString());
        Assert.Equal(200, (await t.GetAsync("/w/after")).Status);
    }
}
