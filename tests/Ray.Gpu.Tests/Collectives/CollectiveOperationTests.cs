using System.Numerics;
using Ray.Gpu.Collectives;
using Ray.Gpu.Kernels;

namespace Ray.Gpu.Tests.Collectives;

/// <summary>Every operation x element types x world sizes 1..4 x odd sizes, against a plain reference.
/// Sizes 1 and 7 run both the direct path and a forced ring; 1000003 takes the ring by size.</summary>
public sealed class CollectiveOperationTests
{
    private static readonly string[] AllTypes = ["float", "double", "int", "long"];
    private static readonly string[] SomeTypes = ["float", "long"];

    public static TheoryData<string, ReduceOp, int, int, bool> ReduceCases(bool allTypes)
    {
        var data = new TheoryData<string, ReduceOp, int, int, bool>();
        foreach (string type in allTypes ? AllTypes : SomeTypes)
        {
            foreach (ReduceOp op in Enum.GetValues<ReduceOp>())
            {
                foreach (int world in new[] { 1, 2, 3, 4 })
                {
                    foreach (int size in TestData.Sizes)
                    {
                        // Only some large cases for the cheaper type lists, to keep the suite short.
                        if (size > 7 && !allTypes && op is ReduceOp.Min or ReduceOp.Product)
                        {
                            continue;
                        }

                        data.Add(type, op, world, size, false);
                        if (size <= 7 && world > 1)
                        {
                            data.Add(type, op, world, size, true);
                        }
                    }
                }
            }
        }

        return data;
    }

    public static TheoryData<string, ReduceOp, int, int, bool> AllReduceCases() => ReduceCases(allTypes: true);

    public static TheoryData<string, ReduceOp, int, int, bool> OtherReduceCases() => ReduceCases(allTypes: false);

    public static TheoryData<string, int, int, bool> CopyCases()
    {
        var data = new TheoryData<string, int, int, bool>();
        foreach (string type in SomeTypes)
        {
            foreach (int world in new[] { 1, 2, 3, 4 })
            {
                foreach (int size in TestData.Sizes)
                {
                    data.Add(type, world, size, false);
                    if (size <= 7 && world > 1)
                    {
                        data.Add(type, world, size, true);
                    }
                }
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(AllReduceCases))]
    public Task AllReduce(string type, ReduceOp op, int world, int size, bool ring) => type switch
    {
        "float" => CheckAllReduce<float>(op, world, size, ring),
        "double" => CheckAllReduce<double>(op, world, size, ring),
        "int" => CheckAllReduce<int>(op, world, size, ring),
        _ => CheckAllReduce<long>(op, world, size, ring),
    };

    [Theory]
    [MemberData(nameof(OtherReduceCases))]
    public Task Reduce(string type, ReduceOp op, int world, int size, bool ring) => type switch
    {
        "float" => CheckReduce<float>(op, world, size, ring),
        _ => CheckReduce<long>(op, world, size, ring),
    };

    [Theory]
    [MemberData(nameof(OtherReduceCases))]
    public Task ReduceScatter(string type, ReduceOp op, int world, int size, bool ring) => type switch
    {
        "float" => CheckReduceScatter<float>(op, world, size, ring),
        _ => CheckReduceScatter<long>(op, world, size, ring),
    };

    [Theory]
    [MemberData(nameof(CopyCases))]
    public Task Broadcast(string type, int world, int size, bool ring) => type switch
    {
        "float" => CheckBroadcast<float>(world, size, ring),
        _ => CheckBroadcast<long>(world, size, ring),
    };

    [Theory]
    [MemberData(nameof(CopyCases))]
    public Task AllGather(string type, int world, int size, bool ring) => type switch
    {
        "float" => CheckAllGather<float>(world, size, ring),
        _ => CheckAllGather<long>(world, size, ring),
    };

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public async Task BarrierWaitsForEveryRank(int world)
    {
        int arrived = 0;
        await GroupRunner.RunAsync(world, null, async comm =>
        {
            await Task.Delay(10 * comm.Rank);
            Interlocked.Increment(ref arrived);
            await comm.BarrierAsync();
            Assert.Equal(world, Volatile.Read(ref arrived));
            await comm.BarrierAsync();
        });
    }

    [Theory]
    [InlineData(2, 7)]
    [InlineData(4, 1_000_003)]
    public async Task SendRecvAroundTheRing(int world, int size)
    {
        await GroupRunner.RunAsync(world, null, async comm =>
        {
            long[] mine = TestData.Input<long>(comm.Rank, size, ReduceOp.Sum);
            var received = new long[size];
            int next = (comm.Rank + 1) % world;
            int previous = (comm.Rank + world - 1) % world;
            await comm.SendAsync<long>(mine, next);
            await comm.RecvAsync<long>(received, previous);
            TestData.Equal(TestData.Input<long>(previous, size, ReduceOp.Sum), received);
        });
    }

    [Fact]
    public async Task InPlaceAllReduce()
    {
        await GroupRunner.RunAsync(3, null, async comm =>
        {
            double[] buffer = TestData.Input<double>(comm.Rank, 1000, ReduceOp.Sum);
            await comm.AllReduceAsync<double>(buffer, ReduceOp.Max);
            double[][] all = Enumerable.Range(0, 3).Select(r => TestData.Input<double>(r, 1000, ReduceOp.Sum)).ToArray();
            TestData.Equal(TestData.Reference(ReduceOp.Max, all), buffer);
        });
    }

    private static T[][] Inputs<T>(int world, int size, ReduceOp op)
        where T : unmanaged, INumber<T> =>
        Enumerable.Range(0, world).Select(r => TestData.Input<T>(r, size, op)).ToArray();

    private static async Task CheckAllReduce<T>(ReduceOp op, int world, int size, bool ring)
        where T : unmanaged, INumber<T>
    {
        T[][] inputs = Inputs<T>(world, size, op);
        T[] expected = TestData.Reference(op, inputs);
        var outputs = new T[world][];
        await GroupRunner.RunAsync(world, GroupRunner.Options(ring), async comm =>
        {
            outputs[comm.Rank] = new T[size];
            await comm.AllReduceAsync<T>(inputs[comm.Rank], outputs[comm.Rank], op);
        });
        foreach (T[] output in outputs)
        {
            TestData.Equal(expected, output);
        }
    }

    private static async Task CheckReduce<T>(ReduceOp op, int world, int size, bool ring)
        where T : unmanaged, INumber<T>
    {
        T[][] inputs = Inputs<T>(world, size, op);
        T[] expected = TestData.Reference(op, inputs);
        int root = world - 1;
        var result = new T[size];
        await GroupRunner.RunAsync(world, GroupRunner.Options(ring), async comm =>
        {
            Memory<T> receive = comm.Rank == root ? result : Memory<T>.Empty;
            await comm.ReduceAsync<T>(inputs[comm.Rank], receive, root, op);
        });
        TestData.Equal(expected, result);
    }

    private static async Task CheckReduceScatter<T>(ReduceOp op, int world, int size, bool ring)
        where T : unmanaged, INumber<T>
    {
        T[][] inputs = Inputs<T>(world, size * world, op);
        T[] expected = TestData.Reference(op, inputs);
        var outputs = new T[world][];
        await GroupRunner.RunAsync(world, GroupRunner.Options(ring), async comm =>
        {
            outputs[comm.Rank] = new T[size];
            await comm.ReduceScatterAsync<T>(inputs[comm.Rank], outputs[comm.Rank], op);
        });
        for (int rank = 0; rank < world; rank++)
        {
            TestData.Equal(expected.AsSpan(rank * size, size).ToArray(), outputs[rank]);
        }
    }

    private static async Task CheckBroadcast<T>(int world, int size, bool ring)
        where T : unmanaged, INumber<T>
    {
        int root = world / 2;
        T[] expected = TestData.Input<T>(42, size, ReduceOp.Sum);
        var buffers = new T[world][];
        await GroupRunner.RunAsync(world, GroupRunner.Options(ring), async comm =>
        {
            buffers[comm.Rank] = comm.Rank == root ? (T[])expected.Clone() : new T[size];
            await comm.BroadcastAsync<T>(buffers[comm.Rank], root);
        });
        foreach (T[] buffer in buffers)
        {
            TestData.Equal(expected, buffer);
        }
    }

    private static async Task CheckAllGather<T>(int world, int size, bool ring)
        where T : unmanaged, INumber<T>
    {
        T[][] inputs = Inputs<T>(world, size, ReduceOp.Sum);
        T[] expected = inputs.SelectMany(a => a).ToArray();
        var outputs = new T[world][];
        await GroupRunner.RunAsync(world, GroupRunner.Options(ring), async comm =>
        {
            outputs[comm.Rank] = new T[size * world];
            await comm.AllGatherAsync<T>(inputs[comm.Rank], outputs[comm.Rank]);
        });
        foreach (T[] output in outputs)
        {
            TestData.Equal(expected, output);
        }
    }
}
