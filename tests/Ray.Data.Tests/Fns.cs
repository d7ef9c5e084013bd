using Apache.Arrow;
using Apache.Arrow.Types;

namespace Ray.Data.Tests;

/// <summary>User functions: static, or lambdas that capture nothing (they run in worker processes on a cluster).</summary>
internal static class Fns
{
    public static Row Double(Row r) => r.With("x", r.Get<long>("id") * 2);
    public static bool DivisibleBy3(Row r) => r.Get<long>("x") % 3 == 0;
    public static IEnumerable<Row> Twice(Row r) => [Row.Of(("x", r.Get<long>("x"))), Row.Of(("x", r.Get<long>("x") + 1))];

    /// <summary>y = id * 10, vectorized.</summary>
    public static RecordBatch AddY(RecordBatch b)
    {
        var id = (Int64Array)b.Column("id");
        var y = new long[b.Length];
        for (var i = 0; i < y.Length; i++) y[i] = id.Values[i] * 10;
        return new RecordBatch(new Schema([.. b.Schema.FieldsList, new Field("y", Int64Type.Default, false)], null),
            [.. b.Arrays, new Int64Array.Builder().AppendRange(y).Build()], b.Length);
    }

    public static IArrowArray IdSquared(RecordBatch b)
    {
        var id = (Int64Array)b.Column("id");
        var r = new Int64Array.Builder();
        for (var i = 0; i < b.Length; i++) r.Append(id.Values[i] * id.Values[i]);
        return r.Build();
    }

    public static RecordBatch BatchLength(RecordBatch b) =>
        new(new Schema([new Field("n", Int64Type.Default, false)], null), [new Int64Array.Builder().Append(b.Length).Build()], 1);

    public static Row Throws(Row r) => r.Get<long>("id") == 7 ? throw new InvalidOperationException("boom at seven") : r;

    public static Row Slow(Row r)
    {
        Thread.Sleep(1);
        return r;
    }
}

/// <summary>A mapper constructed once per actor: counts its constructions in a column.</summary>
public sealed class AddOffsetMapper : IBatchMapper
{
    private static int s_built;
    private readonly int _instance = Interlocked.Increment(ref s_built);
    private readonly int _pid = Environment.ProcessId;

    public RecordBatch Map(RecordBatch batch)
    {
        var id = (Int64Array)batch.Column("id");
        var z = new Int64Array.Builder();
        for (var i = 0; i < batch.Length; i++) z.Append(id.Values[i] + 1000);
        var inst = new StringArray.Builder();
        for (var i = 0; i < batch.Length; i++) inst.Append($"{_pid}:{_instance}");
        return new RecordBatch(new Schema([new Field("z", Int64Type.Default, false), new Field("actor", StringType.Default, false)], null), [z.Build(), inst.Build()], batch.Length);
    }
}
