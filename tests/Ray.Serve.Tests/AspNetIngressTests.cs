using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Ray.Serve.Tests;

/// <summary>An ingress made of minimal APIs.</summary>
public sealed class MinimalApi(string greeting) : AspNetIngress
{
    protected override void Configure(WebApplication app)
    {
        app.MapGet("/hello/{name}", (string name, HttpRequest r) => $"{greeting} {name} (base {r.PathBase}, q {r.Query["x"]})");
        app.MapPost("/echo", async (HttpRequest r) =>
        {
            using var reader = new StreamReader(r.Body);
            return Results.Json(new { got = await reader.ReadToEndAsync(), type = r.ContentType });
        });
        app.MapGet("/boom", string () => throw new InvalidOperationException("endpoint failed"));
    }
}

public sealed class AspNetIngressTests
{
    [Fact]
    public async Task A_minimal_API_app_is_the_ingress_with_its_routes_below_the_prefix()
    {
        await using var t = await TestServe.StartAsync();
        t.Serve.Run(Serve.Deployment<MinimalApi>(new DeploymentOptions { NumReplicas = 2 }).Bind("hi"), "api", "/api");
        Assert.Equal((200, "hi ada (base /api, q 7)"), await t.GetAsync("/api/hello/ada?x=7"));
        using (var r = await t.Http.PostAsync("/api/echo", new StringContent("payload", System.Text.Encoding.UTF8, "text/plain")))
        {
            Assert.Equal(200, (int)r.StatusCode);
            Assert.Equal("application/json; charset=utf-8", r.Content.Headers.ContentType?.ToString());
            Assert.Equal("{\"got\":\"payload\",\"type\":\"text/plain; charset=utf-8\"}", await r.Content.ReadAsStringAsync());
        }
        Assert.Equal(404, (await t.GetAsync("/api/nothing-here")).Status);
        var (s, b) = await t.GetAsync("/api/boom");
        Assert.Equal(500, s);
        Assert.Contains("endpoint failed", b);
    }
}
