using ILGPU;
using ILGPU.Runtime;
using Ray.Gpu.Collectives;
using Ray.Gpu.Collectives.Device;
using Ray.Gpu.Devices;
using Ray.Gpu.Kernels;

namespace Ray.Gpu.Tests.Collectives;

/// <summary>Collectives over device buffers on the CPU accelerator: staged through page-locked host memory, and reduced on a shared device.</summary>
public sealed class DeviceCollectiveTests
{
    [Theory]
    [InlineData(1, 7)]
    [InlineData(2, 1)]
    [InlineData(3, 7)]
    [InlineData(3, 1_000_003)]
    public async Task StagedOperationsOnDeviceBuffersMatchTheReference(int world, int size)
    {
        using GpuContext gpu = GpuContext.CreateCpu();
        var inputs = Enumerable.Range(0, world).Select(k => TestData.Input<float>(k, size, ReduceOp.Sum)).ToArray();
        float[] sum = TestData.Reference(ReduceOp.Sum, inputs);
        float[] max = TestData.Reference(ReduceOp.Max, inputs);
        var pinned = new long[world];
        await GroupRunner.RunAsync(world, null, async c =>
        {
            using var d = new DeviceCommunicator(c, gpu);
            using MemoryBuffer1D<float, Stride1D.Dense> send = gpu.Accelerator.Allocate1D(inputs[c.Rank]);
            using MemoryBuffer1D<float, Stride1D.Dense> receive = gpu.Accelerator.Allocate1D<float>(size);
            await d.AllReduceAsync<float>(send.View, receive.View);
            TestData.Equal(sum, receive.GetAsArray1D());

            using MemoryBuffer1D<float, Stride1D.Dense> root = gpu.Accelerator.Allocate1D<float>(c.Rank == 0 ? size : 0);
            await d.ReduceAsync<float>(send.View, root.View, 0, ReduceOp.Max);
            if (c.Rank == 0)
            {
                TestData.Equal(max, root.GetAsArray1D());
            }

            using MemoryBuffer1D<float, Stride1D.Dense> bcast = gpu.Accelerator.Allocate1D(c.Rank == world - 1 ? inputs[world - 1] : new float[size]);
            await d.BroadcastAsync<float>(bcast.View, world - 1);
            TestData.Equal(inputs[world - 1], bcast.GetAsArray1D());

            using MemoryBuffer1D<float, Stride1D.Dense> all = gpu.Accelerator.Allocate1D<float>((long)size * world);
            await d.AllGatherAsync<float>(send.View, all.View);
            TestData.Equal(inputs.SelectMany(a => a).ToArray(), all.GetAsArray1D());

            await d.ReduceScatterAsync<float>(all.View, receive.View, ReduceOp.Sum);
            TestData.Equal(ReduceScatterReference(inputs, c.Rank, size), receive.GetAsArray1D());
            pinned[c.Rank] = d.StagingBytes;
        });

        Assert.All(pinned, bytes => Assert.True(bytes > 0));
        Assert.Equal(0, gpu.DevicePinner.ActivePins); // the staging pinner is per communicator; the context's took nothing
    }

    [Fact]
    public async Task StagingIsPageLockedWhileHeldAndUnlockedOnDispose()
    {
        using GpuContext gpu = GpuContext.CreateCpu();
        await GroupRunner.RunAsync(1, null, async c =>
        {
            var d = new DeviceCommunicator(c, gpu);
            using MemoryBuffer1D<int, Stride1D.Dense> buffer = gpu.Accelerator.Allocate1D(new[] { 1, 2, 3 });
            await d.AllReduceAsync<int>(buffer.View, buffer.View);
            Assert.Equal(2 * 3 * sizeof(int), d.StagingBytes);
            d.Dispose();
            Assert.Equal(0, d.StagingBytes);
        });
    }

    [Theory]
    [InlineData(1, 7, ReduceOp.Sum)]
    [InlineData(2, 1_000_003, ReduceOp.Sum)]
    [InlineData(3, 7, ReduceOp.Min)]
    [InlineData(4, 1000, ReduceOp.Product)]
    public async Task SharedDeviceRanksReduceOnTheDevice(int world, int size, ReduceOp op)
    {
        using GpuContext gpu = GpuContext.CreateCpu();
        using var group = new SharedDeviceGroup("dev", gpu, world);
        var inputs = Enumerable.Range(0, world).Select(k => TestData.Input<double>(k, size, op)).ToArray();
        double[] expected = TestData.Reference(op, inputs);
        var buffers = inputs.Select(a => gpu.Accelerator.Allocate1D(a)).ToArray();
        try
        {
            for (int round = 0; round < 2; round++)
            {
                var inPlace = round == 1;
                var outputs = Enumerable.Range(0, world).Select(_ => gpu.Accelerator.Allocate1D<double>(size)).ToArray();
                await Task.WhenAll(Enumerable.Range(0, world).Select(r => Task.Run(async () =>
                    await group.AllReduceAsync<double>(r, buffers[r].View, inPlace ? buffers[r].View : outputs[r].View, op)))).WaitAsync(TimeSpan.FromSeconds(60));
                for (int r = 0; r < world; r++)
                {
                    TestData.Equal(expected, (inPlace ? buffers[r] : outputs[r]).GetAsArray1D());
                    outputs[r].Dispose();
                }
            }

            Assert.Equal(2, group.DeviceReductions);
        }
        finally
        {
            foreach (var b in buffers)
            {
                b.Dispose();
            }
        }
    }

    [Fact]
    public async Task SharedDeviceMismatchAndTimeoutFailTyped()
    {
        using GpuContext gpu = GpuContext.CreateCpu();
        using var a = gpu.Accelerator.Allocate1D<float>(4);
        using var b = gpu.Accelerator.Allocate1D<float>(5);
        using (var group = new SharedDeviceGroup("dev", gpu, 2))
        {
            Task first = group.AllReduceAsync<float>(0, a.View, a.View).AsTask();
            var e = await Assert.ThrowsAsync<CollectiveException>(() => group.AllReduceAsync<float>(1, b.View, b.View).AsTask());
            Assert.Equal(CollectiveErrorKind.Mismatch, e.Kind);
            Assert.Equal(CollectiveErrorKind.Mismatch, (await Assert.ThrowsAsync<CollectiveException>(() => first)).Kind);
        }

        using (var group = new SharedDeviceGroup("dev", gpu, 2, TimeSpan.FromMilliseconds(200)))
        {
            var e = await Assert.ThrowsAsync<CollectiveException>(() => group.AllReduceAsync<float>(0, a.View, a.View).AsTask());
            Assert.Equal(CollectiveErrorKind.Timeout, e.Kind);
            Assert.Equal(1, e.FailedRank);
        }
    }

    private static float[] ReduceScatterReference(float[][] inputs, int rank, int size)
    {
        // Every rank's send buffer is the all-gather of all inputs, so slot `rank` is inputs[rank] summed world times.
        var result = new float[size];
        for (int i = 0; i < size; i++)
        {
            result[i] = inputs[rank][i] * inputs.Length;
        }

        return result;
    }
}
