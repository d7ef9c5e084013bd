using Apache.Arrow;

namespace Ray.Data.Tests;

/// <summary>Every operation on small generated data against LINQ; run embedded and on a local cluster.</summary>
public abstract class DatasetSuite
{
    protected abstract RayRuntime Ray { get; }

    private RayData Data => Ray.Data();

    private static long[] Ids(IEnumerable<Row> rows, string col = "id") => rows.Select(r => r.Get<long>(col)).ToArray();

    [Fact]
    public async Task RowTransformsFuseAndMatchLinq()
    {
        var ds = Data.Range(1000, parallelism: 5).Map(Fns.Double).Filter(Fns.DivisibleBy3).FlatMap(Fns.Twice);
        var rows = await ds.TakeAllAsync();
        var expected = Enumerable.Range(0, 1000).Select(i => i * 2L).Where(x => x % 3 == 0).SelectMany(x => new[] { x, x + 1 }).ToArray();
        Assert.Equal(expected, Ids(rows, "x"));
        var op = Assert.Single(ds.OperatorStats); // read and the three maps ran as one task per block
        Assert.Contains("Range->Map(Fns.Double)->Filter(Fns.DivisibleBy3)->FlatMap(Fns.Twice)", op.Name);
        Assert.Equal(5, op.Tasks);
        Assert.Equal(expected.Length, op.Rows);
    }

    [Fact]
    public async Task BatchAndColumnTransforms()
    {
        var ds = Data.Range(300, parallelism: 3)
            .MapBatches(Fns.AddY, batchSize: 40)
            .AddColumn("sq", Fns.IdSquared)
            .Filter(r => r.Get<long>("id") % 2 == 0)
            .RenameColumns(new Dictionary<string, string> { ["y"] = "ten" })
            .DropColumns("sq")
            .SelectColumns("ten", "id");
        var rows = await ds.TakeAllAsync();
        Assert.Equal(Enumerable.Range(0, 300).Where(i => i % 2 == 0).Select(i => i * 10L).ToArray(), Ids(rows, "ten"));
        Assert.Equal(["ten", "id"], rows[0].Keys);
        var sizes = await Data.Range(100, parallelism: 1).MapBatches(Fns.BatchLength, batchSize: 30).TakeAllAsync();
        Assert.Equal([30L, 30, 30, 10], Ids(sizes, "n"));
        Assert.Equal(25, await Data.Range(1000, parallelism: 10).Limit(25).CountAsync());
        Assert.Equal(Enumerable.Range(0, 7).Select(i => (long)i), Ids(Data.Range(100).Take(7)));
    }

    [Fact]
    public async Task ConsumptionApis()
    {
        var ds = Data.FromItems(Enumerable.Range(0, 100).Select(i => new { id = (long)i, name = $"n{i}" }), parallelism: 4);
        Assert.Equal(100, ds.Count());
        var schema = await ds.SchemaAsync();
        Assert.Equal(["id", "name"], schema!.FieldsList.Select(f => f.Name));
        var batch = ds.TakeBatch(10);
        Assert.Equal(10, batch.Length);
        var sizes = new List<int>();
        await foreach (var b in ds.IterBatches(batchSize: 30)) sizes.Add(b.Length);
        Assert.Equal([30, 30, 30, 10], sizes);
        sizes.Clear();
        await foreach (var b in ds.IterBatches(batchSize: 30, dropLast: true, prefetch: 8)) sizes.Add(b.Length);
        Assert.Equal([30, 30, 30], sizes);
        var shuffled = new List<long>();
        await foreach (var b in ds.IterBatches(batchSize: 16, localShuffleBufferSize: 40, localShuffleSeed: 1))
            for (var i = 0; i < b.Length; i++) shuffled.Add(((Int64Array)b.Column("id")).GetValue(i)!.Value);
        Assert.Equal(Enumerable.Range(0, 100).Select(i => (long)i), shuffled.Order());
        Assert.NotEqual(Enumerable.Range(0, 100).Select(i => (long)i), shuffled);
        var text = new StringWriter();
        ds.Show(2, text);
        Assert.Equal("{id: 0, name: n0}" + Environment.NewLine + "{id: 1, name: n1}" + Environment.NewLine, text.ToString());
        var m = await Data.Range(50).Map(Fns.Double).MaterializeAsync();
        Assert.Equal(50, await m.CountAsync());
        Assert.Equal(Enumerable.Range(0, 50).Select(i => i * 2L), Ids(await m.TakeAllAsync(), "x"));
        Assert.Contains("Materialized", m.Stats() + m.ToString());
    }

    [Fact]
    public async Task SplitsDivideRows()
    {
        var parts = await Data.Range(103, parallelism: 4).SplitAsync(3);
        var counts = parts.Select(p => p.Count()).ToArray();
        Assert.Equal([34L, 34, 35], counts);
        Assert.Equal(Enumerable.Range(0, 103).Select(i => (long)i), parts.SelectMany(p => Ids(p.TakeAll())));
        var (train, test) = await Data.Range(100, parallelism: 3).TrainTestSplitAsync(0.25);
        Assert.Equal(75, train.Count());
        Assert.Equal(Enumerable.Range(75, 25).Select(i => (long)i), Ids(test.TakeAll()));
        var its = Data.Range(1000, parallelism: 8).StreamingSplit(2);
        var got = await Task.WhenAll(its.Select(async it =>
        {
            var ids = new List<long>();
            await foreach (var r in it.IterRows()) ids.Add(r.Get<long>("id"));
            return ids;
        }));
        Assert.Equal(500, got[0].Count);
        Assert.Equal(500, got[1].Count);
        Assert.Equal(Enumerable.Range(0, 1000).Select(i => (long)i), got.SelectMany(g => g).Order());
    }

    [Fact]
    public async Task AllToAllMatchLinq()
    {
        var rnd = new Random(5);
        var items = Enumerable.Range(0, 2000).Select(i => new { k = (long)rnd.Next(0, 13), v = rnd.NextDouble() * 100, s = $"s{rnd.Next(1000):D4}" }).ToList();
        var ds = Data.FromItems(items, parallelism: 6);
        Assert.Equal(items.Select(x => x.v).Order(), (await ds.Sort("v").TakeAllAsync()).Select(r => r.Get<double>("v")));
        Assert.Equal(items.Select(x => x.s).OrderDescending(StringComparer.Ordinal), (await ds.Sort("s", descending: true).TakeAllAsync()).Select(r => r.Get<string>("s")));
        var groups = await ds.GroupBy("k").Aggregate(Agg.Count(), Agg.Sum("k"), Agg.Min("v"), Agg.Max("v"), Agg.Mean("v"), Agg.Std("v")).TakeAllAsync();
        var expected = items.GroupBy(x => x.k).OrderBy(g => g.Key).ToList();
        Assert.Equal(expected.Select(g => g.Key), groups.Select(r => r.Get<long>("k")));
        Assert.Equal(expected.Select(g => (long)g.Count()), groups.Select(r => r.Get<long>("count()")));
        Assert.Equal(expected.Select(g => g.Sum(x => x.k)), groups.Select(r => (long)r["sum(k)"]!));
        for (var i = 0; i < expected.Count; i++)
        {
            var vs = expected[i].Select(x => x.v).ToArray();
            var mean = vs.Average();
            Assert.Equal(vs.Min(), groups[i].Get<double>("min(v)"), 9);
            Assert.Equal(vs.Max(), groups[i].Get<double>("max(v)"), 9);
            Assert.Equal(mean, groups[i].Get<double>("mean(v)"), 9);
            Assert.Equal(Math.Sqrt(vs.Sum(v => (v - mean) * (v - mean)) / (vs.Length - 1)), groups[i].Get<double>("std(v)"), 9);
        }
        var shuffled = Ids(await Data.Range(500, parallelism: 5).RandomShuffle(seed: 3).TakeAllAsync());
        Assert.Equal(Enumerable.Range(0, 500).Select(i => (long)i), shuffled.Order());
        Assert.NotEqual(Enumerable.Range(0, 500).Select(i => (long)i), shuffled);
        var re = Data.Range(100, parallelism: 7).Repartition(3);
        Assert.Equal(Enumerable.Range(0, 100).Select(i => (long)i), Ids(await re.TakeAllAsync()));
        Assert.Equal(3, re.OperatorStats.Single(s => s.Name.StartsWith("Repartition")).Blocks);
        var u = Data.Range(10, parallelism: 2).Union(Data.Range(5, parallelism: 1));
        Assert.Equal(Enumerable.Range(0, 10).Concat(Enumerable.Range(0, 5)).Select(i => (long)i), Ids(await u.TakeAllAsync()));
    }

    [Fact]
    public async Task ActorPoolBuildsTheMapperOncePerActor()
    {
        var rows = await Data.Range(400, parallelism: 8).MapBatches<AddOffsetMapper>(new ActorPoolStrategy(1, 2) { NumCpus = 0.5 }, batchSize: 25).TakeAllAsync();
        Assert.Equal(Enumerable.Range(1000, 400).Select(i => (long)i), Ids(rows, "z"));
        var actors = rows.Select(r => r.Get<string>("actor")).Distinct().Count();
        Assert.InRange(actors, 1, 2); // one mapper per actor, however many blocks each actor mapped
    }

    [Fact]
    public async Task FileRoundTrips()
    {
        using var dir = new TempDir();
        var items = Enumerable.Range(0, 250).Select(i => Row.Of(("id", (long)i), ("score", i * 0.5), ("name", $"n,{i}"), ("flag", i % 2 == 0), ("maybe", i % 5 == 0 ? null : (object)(long)i))).ToList();
        var ds = Data.FromItems(items, parallelism: 3);
        Assert.Equal(250, ds.WriteParquet(dir.File("pq")));
        Assert.Equal(3, Directory.GetFiles(dir.File("pq")).Length);
        var back = await Data.ReadParquet(dir.File("pq")).TakeAllAsync();
        Assert.Equal(items.Select(r => r.ToString()), back.Select(r => r.ToString()));
        var projected = Data.ReadParquet(dir.File("pq"), columns: ["name", "id"]);
        Assert.Equal(["name", "id"], (await projected.SchemaAsync())!.FieldsList.Select(f => f.Name));
        Assert.Equal(3, (await projected.TakeAllAsync()).Count == 250 ? projected.OperatorStats[0].Tasks : -1);

        Assert.Equal(250, ds.WriteCsv(dir.File("csv")));
        Assert.Equal(items.Select(r => r.ToString()), (await Data.ReadCsv(dir.File("csv")).TakeAllAsync()).Select(r => r.ToString()));
        Assert.Equal(250, ds.WriteJson(dir.File("json")));
        Assert.Equal(items.Select(r => r.ToString()), (await Data.ReadJson(dir.File("json")).TakeAllAsync()).Select(r => r.ToString()));

        File.WriteAllLines(dir.File("a.txt"), ["one", "two"]);
        File.WriteAllBytes(dir.File("b.bin"), [1, 2, 3]);
        Assert.Equal(["one", "two"], (await Data.ReadText(dir.File("a.txt")).TakeAllAsync()).Select(r => r.Get<string>("text")));
        var bin = Assert.Single(await Data.ReadBinaryFiles(dir.File("b.bin")).TakeAllAsync());
        Assert.Equal(new byte[] { 1, 2, 3 }, (byte[])bin["bytes"]!);
    }

    [Fact]
    public async Task BadInputFailsNamingFileAndRow()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("bad.parquet"), "PAR1 this is not parquet");
        var e1 = Assert.Throws<DataReadException>(() => Data.ReadParquet(dir.File("bad.parquet")));
        Assert.Contains("bad.parquet", e1.Message);

        File.WriteAllText(dir.File("rows.csv"), "a,b\n1,2\n3,4\n5\n");
        var e2 = await Assert.ThrowsAnyAsync<Exception>(() => Data.ReadCsv(dir.File("rows.csv")).TakeAllAsync());
        Assert.Contains("rows.csv line 4", e2.Message);

        File.WriteAllText(dir.File("typed.csv"), "a,b\n1,2\nx,4\n");
        var e3 = await Assert.ThrowsAnyAsync<Exception>(() => Data.ReadCsv(dir.File("typed.csv"), columnTypes: new Dictionary<string, Type> { ["a"] = typeof(long) }).TakeAllAsync());
        Assert.Contains("typed.csv line 3, column 'a': cannot parse 'x'", e3.Message);

        Directory.CreateDirectory(dir.File("mixed"));
        File.WriteAllText(dir.File("mixed/1.csv"), "a,b\n1,2\n");
        File.WriteAllText(dir.File("mixed/2.csv"), "a,b\n1,x\n");
        var e4 = await Assert.ThrowsAsync<DataSchemaException>(() => Data.ReadCsv(dir.File("mixed")).TakeAllAsync());
        Assert.Contains("2.csv", e4.Message);
        Assert.Contains("1.csv", e4.Message);

        Directory.CreateDirectory(dir.File("pqmix"));
        Data.Range(5).WriteParquet(dir.File("pqmix/x"));
        Data.Range(5).Map(Fns.Double).WriteParquet(dir.File("pqmix/y"));
        var e5 = Assert.Throws<DataSchemaException>(() => Data.ReadParquet(dir.File("pqmix")));
        Assert.Contains("schema mismatch", e5.Message);

        var e6 = await Assert.ThrowsAnyAsync<Exception>(() => Data.Range(20).Map(Fns.Throws).TakeAllAsync());
        Assert.Contains("boom at seven", e6.ToString());
        var k = 3;
        Assert.Throws<ArgumentException>(() => Data.Range(5).Filter(r => r.Get<long>("id") > k));
    }
}

public sealed class EmbeddedDatasetTests(EmbeddedFixture f) : DatasetSuite, IClassFixture<EmbeddedFixture>
{
    protected override RayRuntime Ray => f.Ray;
}

[Collection(DataClusterCollection.Name)]
public sealed class ClusterDatasetTests(ClusterFixture f) : DatasetSuite
{
    protected override RayRuntime Ray => f.Ray;
}
