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
        var status = serve.Status().Applications.Single();
        Console.WriteLine($"serve: application {status.Name} {status.Status}: {string.Join(", ", status.Deployments.Select(d => $"{d.Name} {d.Replicas.Count} replica(s)"))}");
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
