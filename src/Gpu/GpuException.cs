namespace Ray.Gpu;

/// <summary>Base of the errors Ray.Gpu raises (device selection, kernels, collectives).</summary>
public class GpuException : Exception
{
    /// <summary>Creates an error with a message.</summary>
    public GpuException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an error with a message and the underlying cause.</summary>
    public GpuException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
