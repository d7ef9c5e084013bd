using Apache.Arrow;
using Apache.Arrow.Types;

namespace Ray.Data.Tests;

/// <summary>
/// Blocks whose arrays live in Arrow's native memory (the default of Arrow's builders, as users
/// build them) must stay alive while Data encodes and gathers them: a finalizer frees that
/// memory once the array is unreachable, even while a span still reads it. Before the fix this
/// failed with a NullReferenceException inside the IPC writer in a few of every ten runs of a
/// loop like this one (a GC loop beside sorts and a native-memory MapBatches).
/// </summary>
public class GcPressureTests(EmbeddedFixture f) : IClassFixture<EmbeddedFixture>
{
    private static RecordBatch NativeCopy(RecordBatch b)
    {
        var k = ((Int64Array)b.Column(0)).Values.ToArray();
        var v = ((DoubleArray)b.Column(1)).Values.ToArray();
        return new RecordBatch(b.Schema, [new Int64Array.Builder().AppendRange(k).Build(), new DoubleArray.Builder().AppendRange(v).Build()], b.Length);
    }

    [Fact]
    public async Task NativeMemoryBlocksSurviveAGcLoop()
    {
        var rng = new Random(1);
        var batches = Enumerable.Range(0, 6).Select(_ =>
        {
            var n = 60_000;
            return new RecordBatch(new Schema([new Field("k", Int64Type.Default, false), new Field("v", DoubleType.Default, false)], null),
                [new Int64Array.Builder().AppendRange(Enumerable.Range(0, n).Select(_ => rng.NextInt64(1_000_000))).Build(),
                 new DoubleArray.Builder().AppendRange(Enumerable.Range(0, n).Select(_ => rng.NextDouble())).Build()], n);
        }).ToArray();
        var ds = f.Ray.Data().FromArrow(batches);
        using var stop = new CancellationTokenSource();
        var gc = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
            }
        });
        try
        {
            for (var i = 0; i < 8; i++)
            {
                Assert.Equal(360_000, await ds.MapBatches(NativeCopy).CountAsync());
                Assert.Equal(360_000, await ds.MapBatches(NativeCopy).Sort("k").CountAsync());
            }
        }
        finally
        {
            stop.Cancel();
            await gc;
        }
    }
}
