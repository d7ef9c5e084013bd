using System.Diagnostics;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;

namespace Ray.Serve.Tests;

public sealed class Streamer
{
    public static int Cancelled;

    public async IAsyncEnumerable<int> Count(int n, [EnumeratorCancellation] CancellationToken ct = default)
    {
        for (var i = 0; i < n; i++)
        {
            await Task.Delay(50, ct);
            yield return i;
        }
    }

    public async IAsyncEnumerable<string> Failing()
    {
        yield return "one";
        await Task.Yield();
        throw new InvalidOperationException("stream broke");
    }

    public async IAsyncEnumerable<string> Handle(ServeRequest r, [EnumeratorCancellation] CancellationToken ct = default)
    {
        var n = int.Parse(r.Text);
        try
        {
            for (var i = 0; i < n; i++)
            {
                yield return $"token {i}\n";
                await Task.Delay(r.SubPath == "/slow" ? 200 : 20, ct);
            }
        }
        finally
        {
            if (ct.IsCancellationRequested) Interlocked.Increment(ref Cancelled);
        }
    }
}

public sealed class StreamingTests
{
    [Fact]
    public async Task A_handle_streams_items_as_they_are_made_and_errors_arrive_in_order()
    {
        await using var t = await TestServe.StartAsync();
        var h = t.Serve.Run(Serve.Deployment<Streamer>().Bind(), "s", "/s");
        var sw = Stopwatch.StartNew();
        var got = new List<(int Item, long Ms)>();
        await foreach (var i in h.Stream((Streamer s, int n) => s.Count(n, default), 6)) got.Add((i, sw.ElapsedMilliseconds));
        Assert.Equal([0, 1, 2, 3, 4, 5], got.Select(g => g.Item));
        Assert.True(got[0].Ms < got[^1].Ms - 100, $"first item at {got[0].Ms} ms, last at {got[^1].Ms} ms: not streamed");
        var seen = new List<string>();
        var e = await Assert.ThrowsAsync<DeploymentException>(async () => { await foreach (var x in h.Stream((Streamer s) => s.Failing())) seen.Add(x); });
        Assert.Equal(["one"], seen);
        Assert.Contains("stream broke", e.Message);
        Assert.Throws<ArgumentException>(() => { _ = h.Remote((Streamer s) => s.Failing()).Result(); });
        // Breaking off early frees the replica's slot.
        await foreach (var i in h.Stream((Streamer s, int n) => s.Count(n, default), 1000)) if (i == 2) break;
        Assert.True(await TestServe.WaitUntilAsync(() => t.Serve.Controller.Find(t.Serve.Controller.KeyOf("s", "Streamer"))!.Router.InFlight == 0, TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task HTTP_streams_chunks_and_server_sent_events_and_a_client_that_leaves_cancels_the_stream()
    {
        await using var t = await TestServe.StartAsync();
        t.Serve.Run(Serve.Deployment<Streamer>().Bind(), "s", "/s");
        Assert.Equal((200, "token 0\ntoken 1\ntoken 2\n"), await t.PostAsync("/s", "3"));

        using (var req = new HttpRequestMessage(HttpMethod.Post, "/s") { Content = new StringContent("2") })
        {
            req.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
            using var r = await t.Http.SendAsync(req);
            Assert.Equal("text/event-stream", r.Content.Headers.ContentType?.MediaType);
            Assert.Equal("data: token 0\ndata: \n\ndata: token 1\ndata: \n\n", await r.Content.ReadAsStringAsync());
        }

        // Read the first chunk as it comes, then hang up: the replica's stream is cancelled.
        var before = Streamer.Cancelled;
        using (var req = new HttpRequestMessage(HttpMethod.Post, "/s/slow") { Content = new StringContent("1000") })
        {
            using var r = await t.Http.SendAsync(req, HttpCompletionOption.ResponseHeadersRead);
            var stream = await r.Content.ReadAsStreamAsync();
            var buf = new byte[64];
            var n = await stream.ReadAsync(buf).AsTask().WaitAsync(TimeSpan.FromSeconds(5));
            Assert.StartsWith("token 0", System.Text.Encoding.UTF8.GetString(buf, 0, n));
        }
        Assert.True(await TestServe.WaitUntilAsync(() => Streamer.Cancelled > before, TimeSpan.FromSeconds(10)));
    }
}
