using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;

namespace Ray.Benchmarks;

/// <summary>
/// A short job shared by every suite so <c>make bench</c> stays within a few minutes on a
/// 2-core machine: one launch, a few warmup and measured iterations, memory diagnostics on.
/// </summary>
public sealed class BenchConfig : ManualConfig
{
    public BenchConfig()
    {
        AddJob(Job.ShortRun);
        AddDiagnoser(MemoryDiagnoser.Default);
    }
}
