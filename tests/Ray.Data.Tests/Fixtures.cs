using Ray.Cluster.Tests;

namespace Ray.Data.Tests;

/// <summary>An embedded runtime shared by a test class.</summary>
public sealed class EmbeddedFixture : IDisposable
{
    public RayRuntime Ray { get; } = RayRuntime.Start(new RuntimeOptions { NumCpus = 4, ObjectStoreMemoryBytes = 256L << 20 });

    public void Dispose() => Ray.Dispose();
}

/// <summary>A local cluster (a raylet in a temp session directory, port 0) and a driver connected to it, shared by a test class; stopped by pid.</summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    private ClusterScope? _scope;

    public RayRuntime Ray { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        _scope = await ClusterScope.StartAsync(cpus: 4);
        Ray = _scope.Connect();
    }

    public async Task DisposeAsync()
    {
        Ray?.Dispose();
        if (_scope is not null) await _scope.DisposeAsync();
    }
}

/// <summary>One cluster for every cluster test class of this project (one raylet, not one per class: less load beside the other suites).</summary>
[CollectionDefinition(Name)]
public sealed class DataClusterCollection : ICollectionFixture<ClusterFixture>
{
    public const string Name = "data-cluster";
}

/// <summary>A per-test temp directory, removed afterwards.</summary>
public sealed class TempDir : IDisposable
{
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "raydata-" + Guid.NewGuid().ToString("N")[..10]);

    public TempDir() => Directory.CreateDirectory(Path);

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}
