using System.Text;
using MemoryPack;

namespace Ray.Serve;

/// <summary>What an ingress deployment answers to a <see cref="ServeRequest"/>; the proxy writes it back as the HTTP response.</summary>
[MemoryPackable]
public sealed partial class ServeResponse
{
    /// <summary>The HTTP status code (default 200).</summary>
    public int Status { get; set; } = 200;

    /// <summary>The Content-Type (default text/plain; charset=utf-8).</summary>
    public string ContentType { get; set; } = "text/plain; charset=utf-8";

    /// <summary>Extra response headers (name, value).</summary>
    public string[] Headers { get; set; } = [];

    /// <summary>The body bytes.</summary>
    public byte[] Body { get; set; } = [];

    /// <summary>A text response.</summary>
    public static ServeResponse Text(string text, int status = 200) => new() { Status = status, Body = Encoding.UTF8.GetBytes(text) };

    /// <summary>A JSON response from already-serialized JSON text.</summary>
    public static ServeResponse Json(string json, int status = 200) =>
        new() { Status = status, ContentType = "application/json", Body = Encoding.UTF8.GetBytes(json) };

    /// <summary>A binary response.</summary>
    public static ServeResponse Bytes(byte[] body, string contentType = "application/octet-stream", int status = 200) =>
        new() { Status = status, ContentType = contentType, Body = body };
}
