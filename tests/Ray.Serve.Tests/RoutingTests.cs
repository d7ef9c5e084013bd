using Ray.Serve.Replica;

namespace Ray.Serve.Tests;

public sealed class RoutingTests
{
    [Fact]
    public async Task Requests_spread_over_replicas()
    {
        await using var t = await TestServe.StartAsync();
        t.Serve.Run(Serve.Deployment<Whoami>(new DeploymentOptions { NumReplicas = 3 }).Bind("W"), "w", "/");
        var bodies = await Task.WhenAll(Enumerable.Range(0, 300).Select(_ => t.GetAsync("/slow?ms=2")));
        Assert.All(bodies, b => Assert.Equal(200, b.Status));
        var counts = bodies.GroupBy(b => b.Body.Split(' ')[1]).Select(g => g.Count()).ToList();
        Assert.Equal(3, counts.Count);
        Assert.All(counts, c => Assert.InRange(c, 40, 220)); // each replica got a fair share (300 / 3 = 100)
    }

    [Fact]
    public async Task A_replica_never_runs_more_than_MaxOngoingRequests_and_refused_requests_are_retried()
    {
        await using var t = await TestServe.StartAsync();
        var handle = t.Serve.Run(Serve.Deployment<Sleeper>(new DeploymentOptions { NumReplicas = 2, MaxOngoingRequests = 2 }).Bind(), "s", "/");
        // A second handle's router shares the replicas without knowing the first's requests: the replicas refuse past 2.
        var other = t.Serve.GetDeploymentHandle<Sleeper>("Sleeper", "s");
        var calls = Enumerable.Range(0, 20).Select(i => (i % 2 == 0 ? handle : other).Remote((Sleeper s, int ms) => s.Sleep(ms), 30)).ToList();
        var state = t.Serve.Controller.Find(t.Serve.Controller.KeyOf("s", "Sleeper"))!;
        var maxSeen = 0;
        while (!calls.All(c => c.Task.IsCompleted))
        {
            foreach (var r in state.Running.ToList())
                maxSeen = Math.Max(maxSeen, (await r.Handle.Task((ReplicaActor x) => x.Stats()).Remote()).Ongoing);
            await Task.Delay(5);
        }
        Assert.All(calls, c => Assert.Equal(30, c.Task.Result));
        Assert.InRange(maxSeen, 1, 2);
    }

    [Fact]
    public async Task A_replica_killed_under_load_fails_only_its_in_flight_requests_with_a_clear_500_and_is_replaced()
    {
        await using var t = await TestServe.StartAsync();
        t.Serve.Run(Serve.Deployment<Whoami>(new DeploymentOptions { NumReplicas = 2, MaxOngoingRequests = 3 }).Bind("W"), "w", "/");
        var state = t.Serve.Controller.Find(t.Serve.Controller.KeyOf("w", "Whoami"))!;
        var victim = state.Running.First();
        var load = Enumerable.Range(0, 60).Select(async i =>
        {
            await Task.Delay(i * 5);
            return await t.GetAsync("/slow?ms=100");
        }).ToList();
        await Task.Delay(120);
        t.Ray.Kill(victim.Handle);
        var results = await Task.WhenAll(load);
        var failed = results.Where(r => r.Status != 200).ToList();
        Assert.InRange(failed.Count, 0, 3); // at most the killed replica's MaxOngoingRequests
        Assert.All(failed, f => { Assert.Equal(500, f.Status); Assert.Contains("died while handling the request", f.Body); });
        Assert.True(results.Count(r => r.Status == 200) >= 57);
        Assert.True(await TestServe.WaitUntilAsync(() =>
        {
            var d = t.Deployment("w", "Whoami");
            return d.Replicas.Count(r => r.State == "RUNNING") == 2 && d.Replicas.All(r => r.Id != victim.Id);
        }, TimeSpan.FromSeconds(10)));
        Assert.Equal(200, (await t.GetAsync("/after")).Status);
    }

    [Fact]
    public async Task Handles_compose_deployments_and_pass_responses_without_waiting()
    {
        await using var t = await TestServe.StartAsync();
        var adder = Serve.Deployment<Adder>().Bind(10);
        var doubler = Serve.Deployment<Doubler>(new DeploymentOptions { NumReplicas = 2 }).Bind();
        var composer = t.Serve.Run(Serve.Deployment<Composer>().Bind(adder, doubler), "calc", "/calc");
        Assert.Equal(30, await composer.Remote((Composer c, int x) => c.Compute(x), 5));
        Assert.Equal((200, "16"), await t.PostAsync("/calc", "-2"));
        // A response passed on without waiting, from the driver.
        var adderHandle = t.Serve.GetDeploymentHandle<Adder>("Adder", "calc");
        var doublerHandle = t.Serve.GetDeploymentHandle<Doubler>("Doubler", "calc");
        var chained = doublerHandle.Remote((Doubler d, int v) => d.Double(v), adderHandle.Remote((Adder a, int v) => a.AddLater(v), 1));
        Assert.Equal(22, chained.Result(TimeSpan.FromSeconds(10)));
        var e = await Assert.ThrowsAsync<ArgumentException>(() => Task.FromResult(adderHandle.Remote((Adder a, int v) => a.Add(v + 1), 1)));
        Assert.Contains("parameters in order", e.Message);
    }

    [Fact]
    public async Task Batch_methods_get_batches_from_single_calls()
    {
        await using var t = await TestServe.StartAsync();
        var h = t.Serve.Run(Serve.Deployment<BatchModel>(new DeploymentOptions { MaxOngoingRequests = 16 }).Bind(), "b", "/b");
        var sizes = await Task.WhenAll(Enumerable.Range(0, 16).Select(i => h.Remote((BatchModel m, int[] xs) => m.Sizes(xs), i).Task));
        Assert.True(sizes.Max() > 1, $"batch sizes {string.Join(",", sizes)}");
        Assert.All(sizes, s => Assert.InRange(s, 1, 8));
        Assert.Equal(1, await h.Remote((BatchModel m, int[] xs) => m.Sizes(xs), 7)); // alone: the wait ends, a batch of one
        var http = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => t.PostAsync("/b", $"r{i}")));
        Assert.All(http, r => Assert.Equal(200, r.Status));
        Assert.Contains(http, r => int.Parse(r.Body.Split(':')[1]) > 1);
        Assert.All(http.Select((r, i) => (r, i)), x => Assert.StartsWith($"r{x.i}:", x.r.Body));
    }
}
