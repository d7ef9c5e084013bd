using System.Runtime.InteropServices;
using ILGPU.Runtime;
using Ray.Gpu.Devices;

namespace Ray.Gpu.Tests.Devices;

public sealed class GpuContextTests
{
    [Fact]
    public void ForcedCpuSelectsTheCpuAccelerator()
    {
        using GpuContext context = GpuContext.CreateCpu();
        Assert.Equal(AcceleratorType.CPU, context.AcceleratorType);
        Assert.False(string.IsNullOrEmpty(context.DeviceName));
    }

    [Fact]
    public void AutoSelectsSomeAccelerator()
    {
        using GpuContext context = GpuContext.Create();
        Assert.Contains(context.AcceleratorType, new[] { AcceleratorType.Cuda, AcceleratorType.OpenCL, AcceleratorType.CPU });
    }

    [Fact]
    public void OutOfRangeDeviceIdFails()
    {
        var ex = Assert.Throws<GpuException>(() =>
            GpuContext.Create(new GpuContextOptions { Preference = AcceleratorPreference.Cpu, DeviceId = 1000 }));
        Assert.Contains("1000", ex.Message);
    }

    [Fact]
    public unsafe void PinnerPageLocksAndUnpinsHostMemory()
    {
        using GpuContext context = GpuContext.CreateCpu();
        var pinner = new IlgpuDevicePinner(context);
        const int length = 1 << 20;
        void* memory = NativeMemory.AlignedAlloc(length, 4096);
        try
        {
            using (IDisposable pin = pinner.Pin((nint)memory, length))
            {
                Assert.NotNull(pin);
            }

            Assert.Throws<ArgumentException>(() => pinner.Pin(0, length));
            Assert.Throws<ArgumentOutOfRangeException>(() => pinner.Pin((nint)memory, 0));
        }
        finally
        {
            NativeMemory.AlignedFree(memory);
        }
    }
}
