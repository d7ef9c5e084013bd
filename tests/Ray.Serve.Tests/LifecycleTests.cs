using System.Diagnostics.Metrics;

namespace Ray.Serve.Tests;

public sealed class LifecycleTests
{
    [Fact]
    public async Task Autoscaling_adds_replicas_under_load_and_removes_them_after()
    {
        await using var t = await TestServe.StartAsync();
        var options = new DeploymentOptions
        {
            MaxOngoingRequests = 10,
            Autoscaling = new AutoscalingConfig
            {
                MinReplicas = 1, MaxReplicas = 3, TargetOngoingRequests = 1,
                UpscaleDelay = TimeSpan.Zero, DownscaleDelay = TimeSpan.FromMilliseconds(300),
                MetricsInterval = TimeSpan.FromMilliseconds(50), LookBackPeriod = TimeSpan.FromMilliseconds(300),
            },
        };
        var h = t.Serve.Run(Serve.Deployment<Sleeper>(options).Bind(), "auto", "/");
        Assert.Single(t.Deployment("auto", "Sleeper").Replicas);
        using var stop = new CancellationTokenSource();
        var load = Enumerable.Range(0, 6).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested) await h.Remote((Sleeper s, int ms) => s.Sleep(ms), 50);
        })).ToList();
        Assert.True(await TestServe.WaitUntilAsync(() => t.Deployment("auto", "Sleeper").Replicas.Count(r => r.State == "RUNNING") >= 3, TimeSpan.FromSeconds(10)),
            t.Deployment("auto", "Sleeper").ToString());
        stop.Cancel();
        await Task.WhenAll(load);
        Assert.True(await TestServe.WaitUntilAsync(() => t.Deployment("auto", "Sleeper") is { TargetReplicas: 1 } d && d.Replicas.Count == 1, TimeSpan.FromSeconds(10)),
            t.Deployment("auto", "Sleeper").ToString());
    }

    [Fact]
    public async Task UserConfig_reaches_Reconfigure_in_place_and_a_code_change_rolls_without_dropping_requests()
    {
        await using var t = await TestServe.StartAsync();
        var d = Serve.Deployment<Configurable>(new DeploymentOptions { NumReplicas = 2, UserConfig = new ModelConfig { Label = "v1" } });
        var h = t.Serve.Run(d.Bind(), "cfg", "/");
        var before = await h.Remote((Configurable c) => c.Describe());
        Assert.EndsWith(":v1", before);
        var ids = t.Deployment("cfg", "Configurable").Replicas.Select(r => r.Id).ToHashSet();
        t.Serve.Run(d.WithOptions(d.Options with { UserConfig = new ModelConfig { Label = "v2" } }).Bind(), "cfg", "/");
        Assert.True(await TestServe.WaitUntilAsync(() => h.Remote((Configurable c) => c.Describe()).Result().EndsWith(":v2"), TimeSpan.FromSeconds(5)));
        Assert.Equal(ids, t.Deployment("cfg", "Configurable").Replicas.Select(r => r.Id).ToHashSet()); // no restart

        // A new version: replicas are replaced one by one while requests keep flowing.
        using var stop = new CancellationTokenSource();
        var failures = 0;
        var served = 0;
        var load = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try { await h.Remote((Configurable c) => c.Describe()); Interlocked.Increment(ref served); }
                catch (Exception) { Interlocked.Increment(ref failures); }
            }
        })).ToList();
        await Task.Delay(100);
        t.Serve.Run(d.WithOptions(d.Options with { Version = "2", UserConfig = new ModelConfig { Label = "v3" } }).Bind(), "cfg", "/");
        await Task.Delay(100);
        stop.Cancel();
        await Task.WhenAll(load);
        Assert.Equal(0, failures);
        Assert.True(served > 0);
        var after = t.Deployment("cfg", "Configurable");
        Assert.Equal(2, after.Replicas.Count);
        Assert.All(after.Replicas, r => Assert.DoesNotContain(r.Id, ids));
        Assert.EndsWith(":v3", await h.Remote((Configurable c) => c.Describe()));
    }

    [Fact]
    public async Task An_unhealthy_replica_is_replaced()
    {
        await using var t = await TestServe.StartAsync();
        var h = t.Serve.Run(Serve.Deployment<Flaky>(new DeploymentOptions
        {
            HealthCheckPeriod = TimeSpan.FromMilliseconds(50), HealthCheckTimeout = TimeSpan.FromSeconds(2), HealthCheckFailureThreshold = 2,
        }).Bind(), "flaky", "/");
        var first = await h.Remote((Flaky f) => f.Id());
        Flaky.Unhealthy = first;
        Assert.True(await TestServe.WaitUntilAsync(() => h.Remote((Flaky f) => f.Id()).Result(TimeSpan.FromSeconds(5)) != first, TimeSpan.FromSeconds(10)));
        Assert.Contains("health check", t.Deployment("flaky", "Flaky").Message);
    }

    [Fact]
    public async Task Deleting_an_application_drains_in_flight_requests_first()
    {
        await using var t = await TestServe.StartAsync();
        var h = t.Serve.Run(Serve.Deployment<Sleeper>().Bind(), "drain", "/");
        var inFlight = h.Remote((Sleeper s, int ms) => s.Sleep(ms), 300);
        await Task.Delay(50);
        Assert.True(await t.Serve.DeleteAsync("drain"));
        Assert.Equal(300, await inFlight);
        Assert.Empty(t.Serve.Status().Applications);
        await Assert.ThrowsAsync<DeploymentUnavailableException>(async () => await h.Remote((Sleeper s, int ms) => s.Sleep(ms), 1));
    }

    [Fact]
    public async Task A_deployment_whose_constructor_fails_fails_the_run_with_the_cause()
    {
        await using var t = await TestServe.StartAsync();
        var e = Assert.Throws<InvalidOperationException>(() => t.Serve.Run(Serve.Deployment<Broken>().Bind(), "broken", "/"));
        Assert.Contains("cannot load the model", e.Message);
        Assert.Throws<ArgumentException>(() => Serve.Deployment<Adder>().Bind("not an int"));
    }

    [Fact]
    public async Task Metrics_use_Ray_Serve_names()
    {
        var seen = new System.Collections.Concurrent.ConcurrentDictionary<string, double>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (i, l) => { if (i.Meter.Name == ServeMetrics.MeterName) l.EnableMeasurementEvents(i); };
        listener.SetMeasurementEventCallback<long>((i, v, _, _) => seen.AddOrUpdate(i.Name, v, (_, o) => o + v));
        listener.SetMeasurementEventCallback<double>((i, v, _, _) => seen.AddOrUpdate(i.Name, 1, (_, o) => o + 1));
        listener.Start();
        await using var t = await TestServe.StartAsync();
        t.Serve.Run(Serve.Deployment<Whoami>().Bind("W"), "m", "/");
        for (var i = 0; i < 3; i++) Assert.Equal(200, (await t.GetAsync("/")).Status);
        Assert.True(seen.GetValueOrDefault("serve_num_router_requests_total") >= 3);
        Assert.True(seen.GetValueOrDefault("serve_num_http_requests_total") >= 3);
        Assert.True(seen.GetValueOrDefault("serve_deployment_processing_latency_ms") >= 3);
        Assert.True(seen.GetValueOrDefault("serve_http_request_latency_ms") >= 3);
    }
}
