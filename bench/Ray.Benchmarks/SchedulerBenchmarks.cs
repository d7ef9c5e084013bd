using Ray.Contract.Resources;
using BenchmarkDotNet.Attributes;
using Ray.Scheduling;

namespace Ray.Benchmarks;

/// <summary>Remote functions for the scheduler suite (remote functions must be public static).</summary>
public static class BenchFns
{
    public static int Noop() => 0;
}

/// <summary>An actor whose method returns at once.</summary>
public sealed class NoopActor
{
    public int Noop() => 0;
}

/// <summary>
/// Task submission and scheduling: the round trip of one no-op task, throughput of a batch of
/// async tasks, an actor call round trip, and the resource arithmetic the scheduler does per task.
/// </summary>
[MemoryDiagnoser]
[ShortRunJob]
public class SchedulerBenchmarks
{
    private const int Batch = 1000;

    private RayRuntime _rt = null!;
    private RemoteFunction<Func<int>> _noop;
    private ActorHandle<NoopActor> _actor = null!;
    private readonly ObjectRef<int>[] _refs = new ObjectRef<int>[Batch];

    private ResourceSet _available = null!;
    private ResourceSet _request = null!;

    [GlobalSetup]
    public void Setup()
    {
        _rt = RayRuntime.Start(new RuntimeOptions { NumCpus = 2 });
        _noop = _rt.Task(BenchFns.Noop);
        _actor = _rt.Actor<NoopActor>().Remote();
        _actor.Task(a => a.Noop()).Remote().Get(); // the actor is constructed before measuring

        // CPU, GPU, memory and one custom resource: a 4-resource set.
        var registry = new ResourceRegistry(["accelerator"]);
        _available = registry.Build(2, 1, 8L << 30, new Dictionary<string, double> { ["accelerator"] = 4 }, out _);
        _request = registry.Build(1, 0.5, 1L << 20, new Dictionary<string, double> { ["accelerator"] = 1 }, out _);
        if (registry.Count != 4) throw new InvalidOperationException($"expected 4 resources, got {registry.Count}");
    }

    [GlobalCleanup]
    public void Cleanup() => _rt.Dispose();

    /// <summary>Submit a no-op task and block on its result.</summary>
    [Benchmark]
    public int Task_SubmitGet()
    {
        using var r = _noop.Remote();
        return r.Get();
    }

    /// <summary>Submit 1000 no-op tasks, then get them all; reported per task.</summary>
    [Benchmark(OperationsPerInvoke = Batch)]
    public int Task_Batch1000_Async()
    {
        var refs = _refs;
        for (var i = 0; i < refs.Length; i++) refs[i] = _noop.Remote();
        var sum = 0;
        for (var i = 0; i < refs.Length; i++)
        {
            sum += refs[i].Get();
            refs[i].Dispose();
        }
        return sum;
    }

    /// <summary>Call an actor method and block on its result.</summary>
    [Benchmark]
    public int Actor_CallGet()
    {
        using var r = _actor.Task(a => a.Noop()).Remote();
        return r.Get();
    }

    /// <summary>The feasibility check the scheduler makes before dispatching a task.</summary>
    [Benchmark]
    public bool ResourceSet_Covers() => _available.Covers(_request);

    /// <summary>Acquire then release: Covers, Subtract, Add (leaves the set unchanged).</summary>
    [Benchmark]
    public bool ResourceSet_CoversSubtractAdd()
    {
        if (!_available.Covers(_request)) return false;
        _available.Subtract(_request);
        _available.Add(_request);
        return true;
    }
}
