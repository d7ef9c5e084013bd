using System.Reflection;

namespace Ray.Tests.Shared;

/// <summary>
/// Finds a program another project built, for tests that run it as a process: the path the
/// build recorded in an assembly attribute first, then the same configuration and framework
/// under the repository (found by walking up to Runtime.sln), then Release and Debug.
/// </summary>
internal static class BuiltDll
{
    /// <summary>The dotnet host to run a built program with: the one running the tests (DOTNET_HOST_PATH, or this process when it is dotnet), else "dotnet" from PATH.</summary>
    public static string DotnetHost()
    {
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(host) && File.Exists(host)) return host;
        var self = Environment.ProcessPath;
        if (self is not null && Path.GetFileNameWithoutExtension(self) == "dotnet") return self;
        return "dotnet";
    }

    /// <param name="testAssembly">The test assembly carrying the <c>AssemblyMetadata(key, path)</c> attribute.</param>
    /// <param name="metadataKey">The attribute's key.</param>
    /// <param name="projectDir">The building project's folder relative to the repository, e.g. "src/Raylet".</param>
    /// <param name="dllName">The file name, e.g. "ray.dll".</param>
    public static string Find(Assembly testAssembly, string metadataKey, string projectDir, string dllName)
    {
        var candidates = new List<string>();
        var fromBuild = testAssembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == metadataKey)?.Value;
        if (fromBuild is not null) candidates.Add(fromBuild);
        // <project>/bin/<Configuration>/<tfm>/ of the test assembly
        var baseDir = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var tfm = baseDir.Name;
        var configuration = baseDir.Parent?.Name ?? "Release";
        var repo = baseDir;
        while (repo is not null && !File.Exists(Path.Combine(repo.FullName, "Runtime.sln"))) repo = repo.Parent;
        if (repo is not null)
            foreach (var c in new[] { configuration, "Release", "Debug" }.Distinct())
                candidates.Add(Path.Combine(repo.FullName, projectDir, "bin", c, tfm, dllName));
        return candidates.Select(Path.GetFullPath).FirstOrDefault(File.Exists)
            ?? throw new FileNotFoundException($"{dllName} not found; looked in: " + string.Join(", ", candidates));
    }
}
