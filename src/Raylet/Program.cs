using Ray.Raylet.Cli;

namespace Ray.Raylet;

/// <summary>The <c>ray</c> executable.</summary>
internal static class Program
{
    private static Task<int> Main(string[] args) => RayCli.InvokeAsync(args);
}
