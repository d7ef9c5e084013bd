using System.Diagnostics;
using System.Globalization;
using System.Numerics;
using ILGPU;
using ILGPU.Runtime;
using Ray.Gpu.Devices;
using Ray.Gpu.Kernels;

namespace Ray.Gpu.Bench;

/// <summary>
/// gpu_reduce_kernel_gbps per op and type (2 inputs into 1 output) beside a device-to-device copy
/// on the same accelerator, both as bytes read + written per second, median of 5 timed launches.
/// </summary>
internal static class KernelBench
{
    public static void Run(int elements)
    {
        using GpuContext gpu = GpuContext.Create(GpuContextOptions.FromEnvironment());
        Console.WriteLine($"# accelerator: {gpu.AcceleratorType} '{gpu.DeviceName}', {elements} elements per input, 2 inputs");
        double copy = Copy(gpu.Accelerator, elements * 8L);
        Console.WriteLine(Line("gpu_device_copy_gbps", "bytes", "-", copy, 1));
        foreach (ReduceOp op in Enum.GetValues<ReduceOp>())
        {
            Print<float>(gpu, op, elements, copy);
            Print<double>(gpu, op, elements, copy);
            Print<int>(gpu, op, elements, copy);
            Print<long>(gpu, op, elements, copy);
        }
    }

    private static void Print<T>(GpuContext gpu, ReduceOp op, int elements, double copy)
        where T : unmanaged, INumber<T>
    {
        double gbps = Reduce<T>(gpu, op, elements);
        Console.WriteLine(Line("gpu_reduce_kernel_gbps", typeof(T).Name, op.ToString(), gbps, gbps / copy));
    }

    private static string Line(string name, string type, string op, double gbps, double ratio) =>
        string.Create(CultureInfo.InvariantCulture, $"{name,-24} {type,-7} {op,-8} {gbps,8:0.00} GB/s  {ratio,5:0.00} x copy");

    private static double Copy(Accelerator accelerator, long bytes)
    {
        using MemoryBuffer1D<byte, Stride1D.Dense> a = accelerator.Allocate1D<byte>(bytes);
        using MemoryBuffer1D<byte, Stride1D.Dense> b = accelerator.Allocate1D<byte>(bytes);
        a.MemSetToZero();
        b.MemSetToZero();
        accelerator.Synchronize();
        return Median(() =>
        {
            a.View.CopyTo(b.View);
            accelerator.Synchronize();
        }, 2.0 * bytes);
    }

    private static double Reduce<T>(GpuContext gpu, ReduceOp op, int elements)
        where T : unmanaged, INumber<T>
    {
        Accelerator accelerator = gpu.Accelerator;
        var host = new T[2L * elements];
        for (int i = 0; i < host.Length; i++)
        {
            host[i] = T.CreateTruncating(1 + (i % 3));
        }

        using MemoryBuffer1D<T, Stride1D.Dense> inputs = accelerator.Allocate1D(host);
        using MemoryBuffer1D<T, Stride1D.Dense> output = accelerator.Allocate1D<T>(elements);
        output.MemSetToZero();
        accelerator.Synchronize();
        return Median(() =>
        {
            gpu.Reductions.Reduce<T>(op, inputs.View.AsContiguous(), 2, output.View.AsContiguous());
            accelerator.Synchronize();
        }, 3.0 * elements * System.Runtime.CompilerServices.Unsafe.SizeOf<T>());
    }

    private static double Median(Action body, double bytes)
    {
        body();
        body();
        var rates = new double[5];
        for (int i = 0; i < rates.Length; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            body();
            rates[i] = bytes / Stopwatch.GetElapsedTime(t0).TotalSeconds / 1e9;
        }

        Array.Sort(rates);
        return rates[rates.Length / 2];
    }
}
