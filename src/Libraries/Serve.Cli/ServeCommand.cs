using System.Globalization;
using System.Net.Http.Headers;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace Ray.Serve.Cli;

/// <summary>The commands of the `serve` tool.</summary>
public static class ServeCommand
{
    private const string Usage = """
        usage:
          serve start [--address ADDR|embedded] [--http-host H] [--http-port 8000] [--api-port 8265] [--token T]
          serve deploy CONFIG.yaml [--api URL] [--token T]
          serve status [--api URL] [--token T]
          serve shutdown [--api URL] [--token T]
        The token defaults to RAY_CLUSTER_TOKEN; the API URL to RAY_SERVE_API, else http://127.0.0.1:8265.
        """;

    private static readonly JsonSerializerOptions s_json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>Runs one command; returns the exit code (0 ok, 1 failed, 2 bad usage).</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help") { output.WriteLine(Usage); return args.Length == 0 ? 2 : 0; }
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        var positional = new List<string>();
        for (var i = 1; i < args.Length; i++)
        {
            if (args[i].StartsWith("--", StringComparison.Ordinal))
            {
                if (i + 1 >= args.Length) { error.WriteLine($"serve: {args[i]} needs a value\n{Usage}"); return 2; }
                options[args[i][2..]] = args[++i];
            }
            else positional.Add(args[i]);
        }
        var token = options.GetValueOrDefault("token") ?? Environment.GetEnvironmentVariable("RAY_CLUSTER_TOKEN");
        try
        {
            switch (args[0])
            {
                case "start":
                    return await StartAsync(options, token, output).ConfigureAwait(false);
                case "deploy" when positional.Count == 1:
                    return await CallAsync(HttpMethod.Put, options, token, ConfigBody(positional[0]), output, error).ConfigureAwait(false);
                case "status":
                    return await CallAsync(HttpMethod.Get, options, token, null, output, error).ConfigureAwait(false);
                case "shutdown":
                    return await CallAsync(HttpMethod.Delete, options, token, null, output, error).ConfigureAwait(false);
                default:
                    error.WriteLine(Usage);
                    return 2;
            }
        }
        catch (Exception e) when (e is FormatException or IOException or HttpRequestException or ArgumentException or TaskCanceledException)
        {
            error.WriteLine($"serve {args[0]}: {e.Message}");
            return 1;
        }
    }

    // The config is read here: relative import paths are made absolute from the file's folder,
    // since the server resolves them on its side.
    private static string ConfigBody(string file)
    {
        var config = ServeConfig.Parse(File.ReadAllText(file));
        var dir = Path.GetDirectoryName(Path.GetFullPath(file))!;
        foreach (var a in config.Applications)
        {
            var split = a.ImportPath.LastIndexOf(':');
            a.ImportPath = Path.GetFullPath(a.ImportPath[..split], dir) + a.ImportPath[split..];
        }
        return JsonSerializer.Serialize(config, s_json);
    }

    private static async Task<int> CallAsync(HttpMethod method, Dictionary<string, string> options, string? token, string? body, TextWriter output, TextWriter error)
    {
        var api = options.GetValueOrDefault("api") ?? Environment.GetEnvironmentVariable("RAY_SERVE_API") ?? "http://127.0.0.1:8265";
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        using var request = new HttpRequestMessage(method, new Uri(new Uri(api), "/api/serve/applications/"));
        if (token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (body is not null) request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        using var response = await http.SendAsync(request).ConfigureAwait(false);
        var text = await response.Content.ReadAsStringAsync().ConfigureAwait(false);
        (response.IsSuccessStatusCode ? output : error).WriteLine(text);
        return response.IsSuccessStatusCode ? 0 : 1;
    }

    private static async Task<int> StartAsync(Dictionary<string, string> options, string? token, TextWriter output)
    {
        if (string.IsNullOrEmpty(token))
        {
            token = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16)).ToLowerInvariant();
            output.WriteLine($"serve: no token given; this one guards the REST API: export RAY_CLUSTER_TOKEN={token}");
        }
        var address = options.GetValueOrDefault("address");
        await using var ray = address == "embedded" ? RayRuntime.Start() : address is null ? RayRuntime.Init() : RayRuntime.Connect(address);
        int Port(string name, int fallback) => options.TryGetValue(name, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
        var serveOptions = new ServeOptions
        {
            Http = new HttpOptions { Host = options.GetValueOrDefault("http-host") ?? "127.0.0.1", Port = Port("http-port", 8000) },
            ApiPort = Port("api-port", 8265),
            ApiToken = token,
        };
        await using var serve = await Serve.StartAsync(ray, serveOptions).ConfigureAwait(false);
        output.WriteLine($"serve: {(ray.IsConnected ? "connected to the cluster" : "embedded runtime")}; HTTP on {serve.HttpAddress}, REST API on {serve.ApiAddress}");
        output.Flush();
        var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.TrySetResult(); });
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.TrySetResult(); });
        await stop.Task.ConfigureAwait(false);
        output.WriteLine("serve: shutting down (draining replicas)");
        return 0;
    }
}
