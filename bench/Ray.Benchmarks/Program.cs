using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;

namespace Ray.Benchmarks;

/// <summary>
/// Entry point for <c>make bench</c>: <c>dotnet run --project bench/Ray.Benchmarks -c Release -- --filter '*'</c>.
/// Any BenchmarkDotNet command-line option works (e.g. <c>--filter '*Scheduler*'</c>, <c>--list flat</c>).
/// The suites share one joined summary table so the end of the output shows every result.
/// </summary>
public static class Program
{
    public static void Main(string[] args) =>
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly)
            .Run(args, DefaultConfig.Instance.WithOptions(ConfigOptions.JoinSummary));
}
