using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;
using Ray.Gpu.Kernels;

namespace Ray.Gpu.Devices;

/// <summary>
/// Owns one ILGPU <see cref="Context"/> and one <see cref="Accelerator"/>, plus the kernels loaded on it.
/// Lifecycle: 1. pick a device (CUDA, else OpenCL, else CPU, or the forced one);
/// 2. create the accelerator; 3. load kernels lazily, once per (op, type), and cache the launchers;
/// 4. dispose accelerator then context.
/// </summary>
public sealed class GpuContext : IDisposable
{
    private readonly Context _context;
    private ReductionKernels? _reductions;
    private IlgpuDevicePinner? _pinner;
    private int _disposed;

    private GpuContext(Context context, Accelerator accelerator)
    {
        _context = context;
        Accelerator = accelerator;
    }

    /// <summary>The accelerator every kernel and buffer of this context lives on.</summary>
    public Accelerator Accelerator { get; }

    /// <summary>The backend that was selected.</summary>
    public AcceleratorType AcceleratorType => Accelerator.AcceleratorType;

    /// <summary>Human-readable device name (for logs and benchmark tables).</summary>
    public string DeviceName => Accelerator.Name;

    /// <summary>Reduction kernels (sum, product, min, max) bound to this accelerator.</summary>
    public ReductionKernels Reductions => _reductions ??= new ReductionKernels(Accelerator);

    /// <summary>The page-lock hook for Plasma memory on this device (see <see cref="PlasmaDevicePinning"/>).</summary>
    public IlgpuDevicePinner DevicePinner => _pinner ??= new IlgpuDevicePinner(this);

    /// <summary>Creates a context and accelerator following <paramref name="options"/>.</summary>
    /// <exception cref="GpuException">The requested backend or device id is not present.</exception>
    public static GpuContext Create(GpuContextOptions? options = null)
    {
        options ??= new GpuContextOptions();
        Context context = options.Preference switch
        {
            AcceleratorPreference.Cpu => Context.Create(b => b.CPU().EnableAlgorithms()),
            AcceleratorPreference.Cuda => Context.Create(b => b.Cuda().EnableAlgorithms()),
            AcceleratorPreference.OpenCL => Context.Create(b => b.OpenCL().EnableAlgorithms()),
            _ => Context.Create(b => b.AllAccelerators().EnableAlgorithms()),
        };
        try
        {
            Device device = SelectDevice(context, options);
            return new GpuContext(context, device.CreateAccelerator(context));
        }
        catch
        {
            context.Dispose();
            throw;
        }
    }

    /// <summary>Shorthand for a context on ILGPU's CPU accelerator.</summary>
    public static GpuContext CreateCpu() => Create(new GpuContextOptions { Preference = AcceleratorPreference.Cpu });

    private static Device SelectDevice(Context context, GpuContextOptions options)
    {
        AcceleratorType[] order = options.Preference switch
        {
            AcceleratorPreference.Cuda => [AcceleratorType.Cuda],
            AcceleratorPreference.OpenCL => [AcceleratorType.OpenCL],
            AcceleratorPreference.Cpu => [AcceleratorType.CPU],
            _ => [AcceleratorType.Cuda, AcceleratorType.OpenCL, AcceleratorType.CPU],
        };
        foreach (AcceleratorType type in order)
        {
            Device[] devices = context.Devices.Where(d => d.AcceleratorType == type).ToArray();
            if (devices.Length == 0)
            {
                continue;
            }

            if ((uint)options.DeviceId >= (uint)devices.Length)
            {
                throw new GpuException(
                    $"Device id {options.DeviceId} is out of range: {devices.Length} {type} device(s) present.");
            }

            return devices[options.DeviceId];
        }

        throw new GpuException($"No accelerator found for preference {options.Preference}.");
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        Accelerator.Dispose();
        _context.Dispose();
    }
}
