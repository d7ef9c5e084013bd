using System.Text;
using Microsoft.AspNetCore.Http;
using Ray.Serve.Controller;
using Ray.Serve.Replica;

namespace Ray.Serve.Http;

/// <summary>
/// Writes a streaming ingress method's items as they come: chunked text (or bytes), or
/// server-sent events when the client accepts <c>text/event-stream</c> (each item one
/// <c>data:</c> event). Errors before the first item get their usual status; after it, an SSE
/// client gets an <c>event: error</c>, others a connection abort (the status is already sent).
/// </summary>
internal static class HttpStreaming
{
    internal static async Task<int> WriteAsync(HttpContext ctx, AppRoute route, ReplicaCall call, CancellationToken token)
    {
        var text = route.HttpStreamItem == typeof(string);
        var sse = text && ctx.Request.Headers.Accept.ToString().Contains("text/event-stream", StringComparison.OrdinalIgnoreCase);
        await using var items = route.Router.StreamAsync(call, token).GetAsyncEnumerator(token);
        var more = await items.MoveNextAsync().ConfigureAwait(false); // errors here propagate as statuses
        ctx.Response.StatusCode = 200;
        ctx.Response.ContentType = sse ? "text/event-stream" : text ? "text/plain; charset=utf-8" : "application/octet-stream";
        if (sse) ctx.Response.Headers.CacheControl = "no-cache";
        try
        {
            while (more)
            {
                var bytes = items.Current;
                var chunk = text ? MemoryPack.MemoryPackSerializer.Deserialize<string>(bytes) ?? "" : null;
                if (sse) await ctx.Response.WriteAsync(Event(chunk!), token).ConfigureAwait(false);
                else if (text) await ctx.Response.WriteAsync(chunk!, token).ConfigureAwait(false);
                else await ctx.Response.Body.WriteAsync(MemoryPack.MemoryPackSerializer.Deserialize<byte[]>(bytes) ?? [], token).ConfigureAwait(false);
                await ctx.Response.Body.FlushAsync(token).ConfigureAwait(false);
                more = await items.MoveNextAsync().ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is ServeException or OperationCanceledException)
        {
            if (sse && e is ServeException && !token.IsCancellationRequested)
                await ctx.Response.WriteAsync($"event: error\n{Data(e.Message)}\n", CancellationToken.None).ConfigureAwait(false);
            else ctx.Abort();
            return e is ServeException s ? s.HttpStatus : 499;
        }
        return 200;
    }

    private static string Event(string text) => Data(text) + "\n";

    private static string Data(string text)
    {
        var sb = new StringBuilder();
        foreach (var line in text.Split('\n')) sb.Append("data: ").Append(line.TrimEnd('\r')).Append('\n');
        return sb.ToString();
    }
}
