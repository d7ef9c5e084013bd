namespace Ray.Gpu.Devices;

/// <summary>Which ILGPU backend a <see cref="GpuContext"/> should use.</summary>
public enum AcceleratorPreference
{
    /// <summary>CUDA when a device is present, else OpenCL, else the CPU accelerator.</summary>
    Auto = 0,

    /// <summary>Force CUDA; fails when no CUDA device exists.</summary>
    Cuda = 1,

    /// <summary>Force OpenCL; fails when no OpenCL device exists.</summary>
    OpenCL = 2,

    /// <summary>Force ILGPU's CPU accelerator (always available; used by tests and CI).</summary>
    Cpu = 3,
}
