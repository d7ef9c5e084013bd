using Ray.Gpu.Collectives;
using Ray.Gpu.Devices;
using Ray.Gpu.Kernels;
using Ray.Gpu.Tests.Collectives;

namespace Ray.Gpu.Tests.Kernels;

/// <summary>System.Half: the device kernels (as ILGPU.Half), the host path and the collectives, against a scalar reference.</summary>
public sealed class HalfPrecisionTests
{
    public static TheoryData<ReduceOp, int> Cases()
    {
        var data = new TheoryData<ReduceOp, int>();
        foreach (ReduceOp op in Enum.GetValues<ReduceOp>())
        {
            foreach (int size in TestData.Sizes)
            {
                data.Add(op, size);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void KernelAndHostPathMatchTheReference(ReduceOp op, int size)
    {
        var inputs = Enumerable.Range(0, 3).Select(k => TestData.Input<Half>(k, size, op)).ToArray();
        Half[] expected = TestData.Reference(op, inputs);

        using GpuContext gpu = GpuContext.CreateCpu();
        var device = new Half[size];
        gpu.Reductions.Reduce(op, inputs, device);
        TestData.Equal(expected, device);

        var host = new Half[size];
        HostReduction.Reduce(op, inputs.Select(a => (ReadOnlyMemory<Half>)a).ToArray(), host);
        TestData.Equal(expected, host);
    }

    [Theory]
    [InlineData(1, 7, false)]
    [InlineData(3, 7, false)]
    [InlineData(3, 7, true)]
    [InlineData(4, 1_000_003, false)]
    public async Task CollectivesOverHalfMatchTheReference(int world, int size, bool forceRing)
    {
        var inputs = Enumerable.Range(0, world).Select(k => TestData.Input<Half>(k, size, ReduceOp.Sum)).ToArray();
        Half[] expected = TestData.Reference(ReduceOp.Sum, inputs);
        var results = new Half[world][];
        var gathered = new Half[world][];
        await GroupRunner.RunAsync(world, GroupRunner.Options(forceRing), async c =>
        {
            var result = new Half[size];
            await c.AllReduceAsync<Half>(inputs[c.Rank], result);
            results[c.Rank] = result;
            var all = new Half[size * world];
            await c.AllGatherAsync<Half>(inputs[c.Rank], all);
            gathered[c.Rank] = all;
        });
        for (int r = 0; r < world; r++)
        {
            TestData.Equal(expected, results[r]);
            TestData.Equal(inputs.SelectMany(a => a).ToArray(), gathered[r]);
        }
    }

    [Fact]
    public async Task TcpCollectivesCarryHalf()
    {
        CollectiveGroup[] groups = await TcpRanks.JoinAllAsync(2);
        try
        {
            var inputs = new[] { TestData.Input<Half>(0, 1001, ReduceOp.Max), TestData.Input<Half>(1, 1001, ReduceOp.Max) };
            var results = new[] { new Half[1001], new Half[1001] };
            await Task.WhenAll(groups.Select((g, r) => g.GetCommunicator(r).AllReduceAsync<Half>(inputs[r], results[r], ReduceOp.Max).AsTask()));
            Half[] expected = TestData.Reference(ReduceOp.Max, inputs);
            TestData.Equal(expected, results[0]);
            TestData.Equal(expected, results[1]);
        }
        finally
        {
            foreach (CollectiveGroup g in groups)
            {
                g.Dispose();
            }
        }
    }
}
