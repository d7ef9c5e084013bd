using System.CommandLine;
using System.Globalization;
using System.Net;
using Ray.Raylet.Node;

namespace Ray.Raylet.Cli;

/// <summary>
/// The options that describe a node, in one place for the two commands that take them:
/// <c>ray start</c> validates them and passes them on to the daemon it launches
/// (<see cref="ToDaemonArgs"/>), the hidden <c>ray raylet</c> runs with them
/// (<see cref="ToRayletOptions"/>).
/// </summary>
internal sealed class NodeOptions
{
    internal Option<bool> Head { get; } = CliOptions.Head();
    internal Option<int> Port { get; } = CliOptions.Port();
    internal Option<string> Host { get; } = CliOptions.NodeIpAddress();
    internal Option<int?> Cpus { get; } = CliOptions.NumCpus();
    internal Option<int?> Gpus { get; } = CliOptions.NumGpus();
    internal Option<string?> Resources { get; } = CliOptions.Resources();
    internal Option<long?> StoreBytes { get; } = CliOptions.ObjectStoreMemory();

    internal Option<int?> IdleWorkerTimeoutMs { get; } = new("--idle-worker-timeout-ms")
    {
        Description = "Milliseconds a worker process may stay idle, beyond the ones each job keeps warm (one per CPU), before it is stopped (Ray's idle_worker_killing_time_threshold_ms; default 1000, 0: never).",
        HelpName = "MS",
    };

    internal Option<string?> JoinAddress { get; } = new("--address")
    {
        Description = "Join the cluster whose head raylet is at this address (host:port, or the head's session directory or address file); without --head. The cluster token comes from RAY_CLUSTER_TOKEN or the head's address file.",
        HelpName = "HEAD",
    };

    internal Option<int?> NodeTimeoutMs { get; } = new("--node-timeout-ms")
    {
        Description = "On the head: milliseconds a joined node may go without a heartbeat (sent every second) before it is marked dead (default 5000).",
        HelpName = "MS",
    };

    private IEnumerable<Option> All => [Head, Port, Host, Cpus, Gpus, Resources, StoreBytes, IdleWorkerTimeoutMs, JoinAddress, NodeTimeoutMs];

    internal void AddTo(Command command)
    {
        foreach (var o in All) command.Options.Add(o);
    }

    /// <summary>What is wrong with the values, or null when they describe a node that can start.</summary>
    internal string? Validate(ParseResult parse)
    {
        var port = parse.GetValue(Port);
        if (port is < 0 or > 65535) return $"--port {port} is outside 0..65535";
        var host = parse.GetValue(Host)!;
        if (!IPAddress.TryParse(host, out _)) return $"--node-ip-address '{host}' is not an IP address";
        if (parse.GetValue(StoreBytes) is { } b && b < RayletOptions.MinObjectStoreBytes)
            return $"--object-store-memory {b} is below the minimum of {RayletOptions.MinObjectStoreBytes} bytes";
        if (parse.GetValue(IdleWorkerTimeoutMs) is < 0) return $"--idle-worker-timeout-ms {parse.GetValue(IdleWorkerTimeoutMs)} is negative";
        if (parse.GetValue(NodeTimeoutMs) is < 100) return $"--node-timeout-ms {parse.GetValue(NodeTimeoutMs)} is below 100 (heartbeats come every second)";
        var head = parse.GetValue(Head);
        var join = parse.GetValue(JoinAddress);
        if (head && join is not null) return "--head starts a new cluster and --address joins one: give one of them";
        if (!head && join is null) return "give --head to start a new cluster, or --address HEAD to join one";
        try { NodeResources.Create(parse.GetValue(Cpus), parse.GetValue(Gpus), ResourceSpec.ParseJson(parse.GetValue(Resources)), 0, 0); }
        catch (Exception e) when (e is FormatException or ArgumentException) { return e.Message; }
        return null;
    }

    /// <summary>The daemon's command line for the same node (the values given; defaults stay implicit).</summary>
    internal List<string> ToDaemonArgs(ParseResult parse, string sessionDir)
    {
        var args = new List<string>
        {
            "--session-dir", sessionDir,
            "--port", Invariant(parse.GetValue(Port)),
            "--node-ip-address", parse.GetValue(Host)!,
        };
        if (parse.GetValue(Head)) args.Add("--head");
        if (parse.GetValue(Cpus) is { } c) args.AddRange(["--num-cpus", Invariant(c)]);
        if (parse.GetValue(Gpus) is { } g) args.AddRange(["--num-gpus", Invariant(g)]);
        if (parse.GetValue(Resources) is { } r) args.AddRange(["--resources", r]);
        if (parse.GetValue(StoreBytes) is { } s) args.AddRange(["--object-store-memory", Invariant(s)]);
        if (parse.GetValue(IdleWorkerTimeoutMs) is { } idle) args.AddRange(["--idle-worker-timeout-ms", Invariant(idle)]);
        if (parse.GetValue(NodeTimeoutMs) is { } nodeTimeout) args.AddRange(["--node-timeout-ms", Invariant(nodeTimeout)]);
        return args;
    }

    /// <summary>The raylet's configuration.</summary>
    /// <exception cref="FormatException">--resources is not a JSON object of amounts.</exception>
    internal RayletOptions ToRayletOptions(ParseResult parse, string sessionDir)
    {
        var options = new RayletOptions
        {
            SessionDir = sessionDir,
            Host = parse.GetValue(Host)!,
            Port = parse.GetValue(Port),
            IsHead = parse.GetValue(Head),
            NumCpus = parse.GetValue(Cpus),
            NumGpus = parse.GetValue(Gpus),
            Resources = ResourceSpec.ParseJson(parse.GetValue(Resources)),
            ObjectStoreMemoryBytes = parse.GetValue(StoreBytes),
        };
        if (parse.GetValue(NodeTimeoutMs) is { } nodeMs) options = options with { NodeTimeout = TimeSpan.FromMilliseconds(nodeMs) };
        if (parse.GetValue(JoinAddress) is { } head)
        {
            // The daemon gets the head's host:port (ray start resolved it) and the token in its environment.
            var token = Environment.GetEnvironmentVariable(Ray.Contract.Session.SessionPaths.TokenVariable);
            if (string.IsNullOrEmpty(token)) throw new ArgumentException("joining a cluster needs its token in RAY_CLUSTER_TOKEN");
            options = options with { HeadAddress = head, ClusterToken = token };
        }
        return parse.GetValue(IdleWorkerTimeoutMs) is { } ms ? options with { IdleWorkerTimeout = TimeSpan.FromMilliseconds(ms) } : options;
    }

    private static string Invariant(long v) => v.ToString(CultureInfo.InvariantCulture);
}
