namespace Ray.Gpu.Devices;

/// <summary>Configuration for <see cref="GpuContext.Create(GpuContextOptions?)"/>.</summary>
public sealed record GpuContextOptions
{
    /// <summary>Backend selection; <see cref="AcceleratorPreference.Auto"/> picks the fastest present.</summary>
    public AcceleratorPreference Preference { get; init; } = AcceleratorPreference.Auto;

    /// <summary>
    /// Index of the device among those of the chosen backend. A task's GPU resource maps to this id,
    /// the way Ray sets CUDA_VISIBLE_DEVICES; the CUDA driver applies that variable itself.
    /// </summary>
    public int DeviceId { get; init; }

    /// <summary>Reads the preference from RAY_GPU_ACCELERATOR (auto, cuda, opencl, cpu) when set.</summary>
    public static GpuContextOptions FromEnvironment()
    {
        string? value = Environment.GetEnvironmentVariable("RAY_GPU_ACCELERATOR");
        AcceleratorPreference preference = value?.Trim().ToLowerInvariant() switch
        {
            "cuda" => AcceleratorPreference.Cuda,
            "opencl" or "cl" => AcceleratorPreference.OpenCL,
            "cpu" => AcceleratorPreference.Cpu,
            _ => AcceleratorPreference.Auto,
        };
        return new GpuContextOptions { Preference = preference };
    }
}
