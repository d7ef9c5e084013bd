using System.Numerics;
using ILGPU;
using ILGPU.Runtime;
using Ray.Gpu.Devices;
using Ray.Gpu.Kernels;

namespace Ray.Gpu.Tests.Kernels;

public sealed class CpuContextFixture : IDisposable
{
    public GpuContext Context { get; } = GpuContext.CreateCpu();

    public void Dispose() => Context.Dispose();
}

public sealed class ReductionKernelTests(CpuContextFixture fixture) : IClassFixture<CpuContextFixture>
{
    public static TheoryData<string, ReduceOp, int, int> Cases()
    {
        var data = new TheoryData<string, ReduceOp, int, int>();
        foreach (string type in new[] { "float", "double", "int", "long" })
        {
            foreach (ReduceOp op in Enum.GetValues<ReduceOp>())
            {
                foreach (int size in TestData.Sizes)
                {
                    data.Add(type, op, size, 3);
                }
            }
        }

        // A single input (copy) and many inputs.
        data.Add("float", ReduceOp.Sum, 7, 1);
        data.Add("int", ReduceOp.Max, 1_000_003, 8);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void DeviceReductionMatchesReference(string type, ReduceOp op, int size, int inputs)
    {
        switch (type)
        {
            case "float": Run<float>(op, size, inputs); break;
            case "double": Run<double>(op, size, inputs); break;
            case "int": Run<int>(op, size, inputs); break;
            default: Run<long>(op, size, inputs); break;
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void HostReductionMatchesReference(string type, ReduceOp op, int size, int inputs)
    {
        switch (type)
        {
            case "float": RunHost<float>(op, size, inputs); break;
            case "double": RunHost<double>(op, size, inputs); break;
            case "int": RunHost<int>(op, size, inputs); break;
            default: RunHost<long>(op, size, inputs); break;
        }
    }

    [Fact]
    public void KernelsAreCachedPerOpAndType()
    {
        var output = new float[5];
        fixture.Context.Reductions.Reduce(ReduceOp.Sum, [new float[5], new float[5]], output);
        fixture.Context.Reductions.Reduce(ReduceOp.Sum, [new float[5], new float[5]], output);
        Assert.Equal(AcceleratorTypeName(), fixture.Context.AcceleratorType.ToString());
    }

    private static string AcceleratorTypeName() => "CPU";

    [Fact]
    public void CustomOperatorStructRunsOnTheDevice()
    {
        var accelerator = fixture.Context.Accelerator;
        int[] a = [1, 5, 3, 9, 2, 8, 7];
        int[] b = [4, 2, 6, 1, 5, 3, 0];
        using var packed = accelerator.Allocate1D<int>(a.Concat(b).ToArray());
        using var output = accelerator.Allocate1D<int>(a.Length);
        fixture.Context.Reductions.Reduce<int, AbsDiffOp>(packed.View, 2, output.View);
        accelerator.Synchronize();
        Assert.Equal(a.Zip(b, (x, y) => Math.Abs(x - y)).ToArray(), output.GetAsArray1D());
    }

    public readonly struct AbsDiffOp : IReduceOp<int>
    {
        public int Apply(int left, int right) => left > right ? left - right : right - left;
    }

    private void Run<T>(ReduceOp op, int size, int count)
        where T : unmanaged, INumber<T>
    {
        T[][] inputs = Enumerable.Range(0, count).Select(k => TestData.Input<T>(k, size, op)).ToArray();
        var output = new T[size];
        fixture.Context.Reductions.Reduce(op, inputs, output);
        TestData.Equal(TestData.Reference(op, inputs), output);
    }

    private static void RunHost<T>(ReduceOp op, int size, int count)
        where T : unmanaged, INumber<T>
    {
        T[][] inputs = Enumerable.Range(0, count).Select(k => TestData.Input<T>(k, size, op)).ToArray();
        var output = new T[size];
        HostReduction.Reduce(op, inputs.Select(a => (ReadOnlyMemory<T>)a).ToArray(), output);
        TestData.Equal(TestData.Reference(op, inputs), output);
    }
}
