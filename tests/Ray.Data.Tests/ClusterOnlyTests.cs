using Apache.Arrow;
using Apache.Arrow.Types;

namespace Ray.Data.Tests;

/// <summary>A read task whose worker process dies the first time it runs (marker file in the argument's directory).</summary>
public sealed class DyingSource(string markerDir) : IDatasource
{
    public string Name => "Dying";

    public IReadOnlyList<ReadTask> GetReadTasks(int parallelism) =>
        Enumerable.Range(0, 4).Select(p => new ReadTask(Read, $"{markerDir}|{p}")).ToList();

    private static IEnumerable<RecordBatch> Read(string arg)
    {
        var parts = arg.Split('|');
        var part = int.Parse(parts[1]);
        var marker = Path.Combine(parts[0], $"died-{part}");
        if (part == 2 && !File.Exists(marker))
        {
            File.WriteAllText(marker, Environment.ProcessId.ToString());
            Environment.FailFast("a worker dies mid-read (test)"); // the process is gone: Core retries the task elsewhere
        }
        var b = new Int64Array.Builder();
        for (var i = 0; i < 10; i++) b.Append(part * 10 + i);
        yield return new RecordBatch(new Schema([new Field("id", Int64Type.Default, false)], null), [b.Build()], 10);
    }
}

/// <summary>Cases that need worker processes.</summary>
[Collection(DataClusterCollection.Name)]
public sealed class ClusterOnlyTests(ClusterFixture f)
{
    [Fact]
    public async Task AWorkerKilledMidReadIsRetried()
    {
        using var dir = new TempDir();
        var rows = await f.Ray.Data().Read(new DyingSource(dir.Path)).TakeAllAsync();
        Assert.Equal(Enumerable.Range(0, 40).Select(i => (long)i), rows.Select(r => r.Get<long>("id")));
        Assert.True(File.Exists(dir.File("died-2")), "the read task's worker did not die: the test tested nothing");
        Assert.NotEqual(Environment.ProcessId.ToString(), File.ReadAllText(dir.File("died-2")));
    }

    [Fact]
    public async Task UserFunctionsRunInWorkerProcesses()
    {
        var pids = (await f.Ray.Data().Range(40, parallelism: 4).Map(r => r.With("pid", (long)Environment.ProcessId)).TakeAllAsync())
            .Select(r => r.Get<long>("pid")).Distinct().ToList();
        Assert.DoesNotContain((long)Environment.ProcessId, pids);
    }
}
