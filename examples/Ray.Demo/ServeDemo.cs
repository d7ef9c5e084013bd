using Ray.Serve;

namespace Ray.Demo;

/// <summary>The demo's Ray Serve part: a two-replica application behind Kestrel, composed with a second deployment.</summary>
public static class ServeDemo
{
    public static async Task RunAsync(RayRuntime ray)
    {
        // Port 0: any free port (Serve's default is 8000).
        await using var serve = await Serve.Serve.StartAsync(ray, new ServeOptions { Http = new HttpOptions { Port = 0 } });
        var app = Serve.Serve.Deployment<Greeter>(new DeploymentOptions { NumReplicas = 2 }).Bind(Serve.Serve.Deployment<Shouter>().Bind(), "hello");
        var handle = serve.Run(app, name: "greeter", routePrefix: "/greet");
        using var http = new HttpClient { BaseAddress = serve.HttpAddress };
        foreach (var who in new[] { "ada", "grace", "edsger" })
        {
            using var response = await http.PostAsync("/greet", new StringContent(who));
            Console.WriteLine($"serve: POST /greet {who} -> {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
        Console.WriteLine($"serve: handle call -> {await handle.Remote((Greeter g, string n) => g.Greet(n), "barbara")}");
        var status = serve.Status().Applications.Single(a => a.Name == "greeter");
        Console.WriteLine($"serve: application {status.Name} {status.Status}: {string.Join(", ", status.Deployments.Select(d => $"{d.Name} {d.Replicas.Count} replica(s)"))}");
        await ServeModelAsync(serve, http);
    }

    // An ONNX model (a small linear one, written here) behind HTTP: concurrent requests are batched.
    private static async Task ServeModelAsync(ServeInstance serve, HttpClient http)
    {
        var dir = Directory.CreateTempSubdirectory("ray-demo-onnx-");
        try
        {
            var model = Path.Combine(dir.FullName, "linear.onnx");
            float[,] weights = { { 1, 0 }, { 0, 1 }, { 1, 1 } };
            float[] bias = { 0.5f, -1 };
            Ray.Serve.Onnx.LinearOnnx.Write(model, weights, bias);
            var handle = serve.Run(Serve.Serve.Deployment<Ray.Serve.Onnx.OnnxModel>(new DeploymentOptions { MaxOngoingRequests = 32 }).Bind(model, 1), "linear", "/linear");
            var answers = await Task.WhenAll(Enumerable.Range(0, 16).Select(async i =>
            {
                using var response = await http.PostAsync("/linear", new StringContent($"[{i}, 1, 2]"));
                return await response.Content.ReadAsStringAsync();
            }));
            var largest = await handle.Remote((Ray.Serve.Onnx.OnnxModel m) => m.LargestBatch());
            Console.WriteLine($"serve: ONNX model, 16 concurrent POST /linear: [0,1,2] -> {answers[0]}, [15,1,2] -> {answers[15]}; largest batch {largest}");
        }
        finally { dir.Delete(recursive: true); }
    }

    /// <summary>The ingress deployment: answers HTTP requests, using another deployment through its handle.</summary>
    public sealed class Greeter(DeploymentHandle<Shouter> shouter, string greeting)
    {
        private readonly string _replica = Guid.NewGuid().ToString("N")[..4];

        public async Task<string> Greet(string name) => $"{greeting}, {await shouter.Remote((Shouter s, string x) => s.Shout(x), name)} (replica {_replica})";

        public async Task<ServeResponse> Handle(ServeRequest request) => ServeResponse.Text(await Greet(request.Text));
    }

    public sealed class Shouter
    {
        public string Shout(string s) => s.ToUpperInvariant() + "!";
    }
}
