using ILGPU;
using ILGPU.Runtime;
using Ray.Gpu.Devices;
using Ray.Plasma;
using Ray.Plasma.Client;
using Ray.Plasma.Store;

namespace Ray.Gpu.Tests.Devices;

/// <summary>Plasma memory page-locked for the device through IlgpuDevicePinner: the wiring and the lifetime (a no-op lock on the CPU accelerator).</summary>
public sealed class PlasmaPinningTests
{
    [Fact]
    public async Task ArenaPinLivesUntilTheLeaseOrTheStoreIsDisposed()
    {
        using GpuContext gpu = GpuContext.CreateCpu();
        using (var scope = new ArenaScope())
        {
            IDisposable lease = scope.Store.PinArenaForDevice(gpu);
            Assert.Equal(1, gpu.DevicePinner.ActivePins);

            // Device copies straight out of the pinned arena: an object's bytes reach a device buffer intact.
            var client = new PlasmaLocalClient(scope.Store);
            var id = new PlasmaObjectId(7, 1);
            byte[] payload = Enumerable.Range(0, 4096).Select(i => (byte)i).ToArray();
            await client.PutAsync(id, payload);
            using (PlasmaBuffer view = client.TryGet(id)!)
            {
                using MemoryBuffer1D<byte, Stride1D.Dense> device = gpu.Accelerator.Allocate1D<byte>(payload.Length);
                ((ArrayView<byte>)device.View).CopyFromCPU(view.Span);
                Assert.Equal(payload, device.GetAsArray1D());
            }

            lease.Dispose();
            lease.Dispose();
            Assert.Equal(0, gpu.DevicePinner.ActivePins);
            scope.Store.PinArenaForDevice(gpu); // left pinned: disposing the store unpins it
            Assert.Equal(1, gpu.DevicePinner.ActivePins);
        }

        Assert.Equal(0, gpu.DevicePinner.ActivePins);
    }

    [Fact]
    public async Task ObjectPinLivesUntilTheHandleOrTheViewIsReleased()
    {
        using GpuContext gpu = GpuContext.CreateCpu();
        using var scope = new ArenaScope();
        var client = new PlasmaLocalClient(scope.Store);
        var id = new PlasmaObjectId(8, 1);
        await client.PutAsync(id, new byte[1 << 16]);
        PlasmaBuffer view = client.TryGet(id)!;
        IDisposable pin = view.PinForDevice(gpu);
        Assert.Equal(1, gpu.DevicePinner.ActivePins);
        pin.Dispose();
        Assert.Equal(0, gpu.DevicePinner.ActivePins);
        view.PinForDevice(gpu);
        view.PinForDevice(gpu);
        Assert.Equal(2, gpu.DevicePinner.ActivePins);
        view.Dispose(); // releasing the view unpins everything still pinned on it
        Assert.Equal(0, gpu.DevicePinner.ActivePins);
        Assert.Throws<ObjectDisposedException>(() => view.PinForDevice(gpu));
    }

    private sealed class ArenaScope : IDisposable
    {
        private readonly string _directory = Directory.CreateTempSubdirectory("ray-gpu-plasma-").FullName;

        public ArenaScope() => this.Store_ = new PlasmaStore(new PlasmaStoreOptions
        {
            Directory = Path.Combine(_directory, "arena"),
            SpillDirectory = Path.Combine(_directory, "spill"),
            CapacityBytes = 4 << 20,
            Name = "arena",
        });

        public PlasmaStore Store => Store_;

        private PlasmaStore Store_ { get; }

        public void Dispose()
        {
            Store_.Dispose();
            Directory.Delete(_directory, recursive: true);
        }
    }
}
