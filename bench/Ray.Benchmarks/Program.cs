using BenchmarkDotNet.Running;

namespace Ray.Benchmarks;

/// <summary>
/// Entry point for <c>make bench</c>: <c>dotnet run --project bench/Ray.Benchmarks -c Release -- --filter '*'</c>.
/// Any BenchmarkDotNet command-line option works (e.g. <c>--filter '*Scheduler*'</c>, <c>--list flat</c>).
/// </summary>
public static class Program
{
    public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}
