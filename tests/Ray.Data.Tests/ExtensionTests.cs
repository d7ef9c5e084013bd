using Apache.Arrow;
using Apache.Arrow.Types;

namespace Ray.Data.Tests;

/// <summary>A user format: n parts of "k" rows each, the part number and size in the argument.</summary>
public sealed class SquaresSource(int parts, int rowsPerPart) : IDatasource
{
    public string Name => "Squares";

    public IReadOnlyList<ReadTask> GetReadTasks(int parallelism) =>
        Enumerable.Range(0, parts).Select(p => new ReadTask(ReadPart, $"{p},{rowsPerPart}")).ToList();

    private static IEnumerable<RecordBatch> ReadPart(string arg)
    {
        var (p, n) = (int.Parse(arg.Split(',')[0]), int.Parse(arg.Split(',')[1]));
        var b = new Int64Array.Builder();
        for (var i = 0; i < n; i++) b.Append((long)(p * n + i) * (p * n + i));
        yield return new RecordBatch(new Schema([new Field("sq", Int64Type.Default, false)], null), [b.Build()], n);
    }
}

public class ExtensionTests(EmbeddedFixture f) : IClassFixture<EmbeddedFixture>
{
    private static long WriteLines(RecordBatch b, string dir, int index)
    {
        File.WriteAllLines(Path.Combine(dir, $"{index}.txt"), Enumerable.Range(0, b.Length).Select(i => ((Int64Array)b.Column(0)).GetValue(i)!.Value.ToString()));
        return b.Length;
    }

    [Fact]
    public async Task UserDatasourceAndDatasink()
    {
        var ds = f.Ray.Data().Read(new SquaresSource(3, 4));
        Assert.Equal(Enumerable.Range(0, 12).Select(i => (long)i * i), (await ds.TakeAllAsync()).Select(r => r.Get<long>("sq")));
        using var dir = new TempDir();
        Assert.Equal(12, await ds.WriteAsync(new Datasink(WriteLines, dir.Path)));
        Assert.Equal(["0", "1", "4", "9"], File.ReadAllLines(dir.File("0.txt")));
        Assert.Equal(3, Directory.GetFiles(dir.Path).Length);
    }

    [Fact]
    public void PlanIsLazyAndDescribesItself()
    {
        var ds = f.Ray.Data().Range(10).Map(Fns.Double).Sort("x", descending: true).Limit(3);
        Assert.Equal("not executed yet", ds.Stats());
        Assert.Contains("Range[", ds.ToString());
        Assert.Equal([18L, 16, 14], ds.TakeAll().Select(r => r.Get<long>("x")));
        Assert.Contains("Sort(x, desc)", ds.Stats());
    }
}
