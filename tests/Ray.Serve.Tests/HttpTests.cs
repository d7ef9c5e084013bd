using System.Net.Sockets;
using System.Text;

namespace Ray.Serve.Tests;

public sealed class HttpTests
{
    [Fact]
    public async Task Applications_are_routed_by_longest_prefix_and_unknown_paths_get_404()
    {
        await using var t = await TestServe.StartAsync();
        t.Serve.Run(Serve.Deployment<Whoami>(new DeploymentOptions { Name = "a" }).Bind("A"), "app-a", "/a");
        t.Serve.Run(Serve.Deployment<Whoami>(new DeploymentOptions { Name = "ab" }).Bind("AB"), "app-ab", "/a/b");
        var (s1, b1) = await t.PostAsync("/a/x", "hi");
        Assert.Equal(200, s1);
        Assert.StartsWith("A ", b1);
        Assert.EndsWith("POST /x hi", b1);
        var (s2, b2) = await t.GetAsync("/a/b/c");
        Assert.Equal(200, s2);
        Assert.StartsWith("AB ", b2);
        Assert.EndsWith("GET /c ", b2);
        Assert.StartsWith("A ", (await t.GetAsync("/a/bc")).Body); // a prefix matches whole segments only
        var (s3, b3) = await t.GetAsync("/nope");
        Assert.Equal(404, s3);
        Assert.Contains("'/nope' not found", b3);
        Assert.Equal((200, "success"), await t.GetAsync("/-/healthz"));
        Assert.Contains("\"/a/b\":\"app-ab\"", (await t.GetAsync("/-/routes")).Body);
        Assert.Throws<ArgumentException>(() => t.Serve.Run(Serve.Deployment<Whoami>(new DeploymentOptions { Name = "c" }).Bind("C"), "app-c", "/a"));
    }

    [Fact]
    public async Task Deployment_errors_are_500_with_the_cause_and_timeouts_are_408()
    {
        await using var t = await TestServe.StartAsync(new HttpOptions { RequestTimeout = TimeSpan.FromMilliseconds(300) });
        t.Serve.Run(Serve.Deployment<Whoami>().Bind("W"), "w", "/");
        var (s, b) = await t.GetAsync("/fail");
        Assert.Equal(500, s);
        Assert.Contains("InvalidOperationException: the model says no", b);
        var (s2, b2) = await t.GetAsync("/slow?ms=3000");
        Assert.Equal(408, s2);
        Assert.Contains("timed out after 0.3 s", b2);
        Assert.Equal(200, (await t.GetAsync("/ok")).Status);
    }

    [Fact]
    public async Task Malformed_and_oversized_requests_get_4xx_and_the_server_stays_up()
    {
        await using var t = await TestServe.StartAsync(new HttpOptions { MaxRequestBodyBytes = 1024 });
        t.Serve.Run(Serve.Deployment<Whoami>().Bind("W"), "w", "/");
        var (s, b) = await t.PostAsync("/big", new string('x', 5000));
        Assert.Equal(413, s);
        Assert.Contains("limit is 1024", b);
        // Chunked (no Content-Length): Kestrel's own limit.
        using (var chunked = new StringContent(new string('y', 5000)))
        {
            chunked.Headers.ContentLength = null;
            var req = new HttpRequestMessage(HttpMethod.Post, "/big") { Content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(new string('y', 5000)))) };
            req.Headers.TransferEncodingChunked = true;
            using var r = await t.Http.SendAsync(req);
            Assert.Equal(413, (int)r.StatusCode);
        }
        foreach (var garbage in new[] { "GARBAGE\r\n\r\n", "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", "GET /\u0001 HTTP/9.9\r\n\r\n" })
        {
            using var tcp = new TcpClient();
            await tcp.ConnectAsync(t.Serve.HttpAddress.Host, t.Serve.HttpAddress.Port);
            var stream = tcp.GetStream();
            await stream.WriteAsync(Encoding.Latin1.GetBytes(garbage));
            var buf = new byte[256];
            var n = await stream.ReadAsync(buf).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
            var head = Encoding.Latin1.GetString(buf, 0, n);
            Assert.StartsWith("HTTP/1.1 ", head);
            Assert.InRange(int.Parse(head[9..12]), 400, 505); // 400 Bad Request; 505 for an HTTP/9.9 request line
        }
        Assert.Equal(200, (await t.PostAsync("/x", "small")).Status);
    }

    [Fact]
    public async Task Back_pressure_answers_503_with_a_clear_body_when_every_replica_is_full()
    {
        await using var t = await TestServe.StartAsync();
        var gate = "bp-" + Guid.NewGuid().ToString("N");
        t.Serve.Run(Serve.Deployment<Gate>(new DeploymentOptions { NumReplicas = 2, MaxOngoingRequests = 1, MaxQueuedRequests = 1 }).Bind(gate), "g", "/");
        var router = t.Serve.Controller.Find(t.Serve.Controller.KeyOf("g", "Gate"))!.Router;
        // One at a time, each seen by the router before the next: 2 running, then 1 queued (sent at
        // once, a request can race a replica's first report on a loaded machine and be refused).
        var held = new List<Task<(int Status, string Body)>>();
        for (var i = 0; i < 2; i++)
        {
            held.Add(t.GetAsync("/"));
            var running = i + 1;
            Assert.True(await TestServe.WaitUntilAsync(() => router.InFlight == running, TimeSpan.FromSeconds(10)));
        }
        held.Add(t.GetAsync("/"));
        Assert.True(await TestServe.WaitUntilAsync(() => router.Queued == 1, TimeSpan.FromSeconds(10)));
        var (s, b) = await t.GetAsync("/");
        Assert.Equal(503, s);
        Assert.Contains("backpressure", b);
        Assert.Contains("max_queued_requests=1", b);
        Gate.Release(gate);
        foreach (var h in held) Assert.Equal(200, (await h).Status); // the queued one ran once a replica was free
        Assert.Equal(200, (await t.GetAsync("/")).Status);
    }

    [Fact]
    public async Task The_static_Run_uses_the_instance_started_last_and_Shutdown_stops_it()
    {
        await using var ray = RayRuntime.Start();
        var serve = await Serve.StartAsync(ray, new ServeOptions { Http = new HttpOptions { Port = 0 } });
        var h = Serve.Run(Serve.Deployment<Adder>().Bind(2), "static-app", "/static");
        Assert.Same(serve, Serve.Current);
        Assert.Equal(5, await h.Remote((Adder a, int x) => a.Add(x), 3));
        Serve.Shutdown();
        Assert.Null(Serve.Current);
        await Assert.ThrowsAsync<DeploymentUnavailableException>(async () => await h.Remote((Adder a, int x) => a.Add(x), 3));
    }
}
