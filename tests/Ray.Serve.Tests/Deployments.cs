using System.Collections.Concurrent;
using MemoryPack;

namespace Ray.Serve.Tests;

/// <summary>Answers with its instance id, so tests see which replica ran a request.</summary>
public sealed class Whoami
{
    private readonly string _id = Guid.NewGuid().ToString("N")[..8];
    private readonly string _greeting;

    public Whoami(string greeting) => _greeting = greeting;

    public async Task<ServeResponse> Handle(ServeRequest r)
    {
        if (r.SubPath == "/slow") await Task.Delay(int.Parse(r.Query.TrimStart('?').Split('=')[1]));
        if (r.SubPath == "/fail") throw new InvalidOperationException("the model says no");
        return ServeResponse.Text($"{_greeting} {_id} {r.Method} {r.SubPath} {r.Text}");
    }

    public string Id() => _id;
    public int Pid() => Environment.ProcessId;
}

/// <summary>Holds requests until the test releases them (a static gate: embedded replicas share the process).</summary>
public sealed class Gate
{
    public static readonly ConcurrentDictionary<string, TaskCompletionSource> Gates = new();
    public static int Running;

    private readonly string _name;

    public Gate(string name) => _name = name;

    public async Task<ServeResponse> Handle(ServeRequest r)
    {
        Interlocked.Increment(ref Running);
        try { await Gates.GetOrAdd(_name, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task.WaitAsync(TimeSpan.FromSeconds(20)); }
        finally { Interlocked.Decrement(ref Running); }
        return ServeResponse.Text("released");
    }

    public static void Release(string name) => Gates.GetOrAdd(name, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
}

public sealed class Adder
{
    private readonly int _k;
    public Adder(int k) => _k = k;
    public int Add(int x) => x + _k;
    public async Task<int> AddLater(int x) { await Task.Delay(5); return x + _k; }
    public int Pid() => Environment.ProcessId;
}

/// <summary>Composes two deployments through the handles it was bound with.</summary>
public sealed class Composer
{
    private readonly DeploymentHandle<Adder> _adder;
    private readonly DeploymentHandle<Doubler> _doubler;

    public Composer(DeploymentHandle<Adder> adder, DeploymentHandle<Doubler> doubler)
    {
        _adder = adder;
        _doubler = doubler;
    }

    // (x + k) * 2: the adder's response goes into the doubler's call without waiting here.
    public async Task<int> Compute(int x) => await _doubler.Remote((Doubler d, int v) => d.Double(v), _adder.Remote((Adder a, int v) => a.Add(v), x));

    public async Task<ServeResponse> Handle(ServeRequest r) => ServeResponse.Text((await Compute(int.Parse(r.Text))).ToString());

    public async Task<string> Pids() =>
        $"{Environment.ProcessId} {await _adder.Remote((Adder a) => a.Pid())}";
}

public sealed class Doubler
{
    public int Double(int x) => x * 2;
}

public sealed class BatchModel
{
    /// <summary>Each result is the size of the batch it ran in.</summary>
    [Batch(maxBatchSize: 8, batchWaitTimeoutMs: 100)]
    public async Task<int[]> Sizes(int[] items)
    {
        await Task.Yield();
        return items.Select(_ => items.Length).ToArray();
    }

    [Batch(maxBatchSize: 4, batchWaitTimeoutMs: 50)]
    public ServeResponse[] Handle(ServeRequest[] requests) =>
        requests.Select(r => ServeResponse.Text($"{r.Text}:{requests.Length}")).ToArray();
}

[MemoryPackable]
public sealed partial class ModelConfig
{
    public string Label { get; set; } = "";
}

public sealed class Configurable
{
    private readonly string _id = Guid.NewGuid().ToString("N")[..8];
    private string _label = "none";

    public void Reconfigure(ModelConfig config) => _label = config.Label;

    public string Describe() => $"{_id}:{_label}";
}

public sealed class Flaky
{
    public static volatile string? Unhealthy;
    private readonly string _id = Guid.NewGuid().ToString("N")[..8];

    public string Id() => _id;

    public void CheckHealth()
    {
        if (Unhealthy == _id) throw new InvalidOperationException("unhealthy on purpose");
    }
}

public sealed class Broken
{
    public Broken() => throw new InvalidOperationException("cannot load the model");
    public string Hi() => "hi";
}

public sealed class Sleeper
{
    public async Task<int> Sleep(int ms)
    {
        await Task.Delay(ms);
        return ms;
    }
}
