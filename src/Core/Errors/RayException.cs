namespace Ray;

/// <summary>Base of every error the runtime raises; catch this to catch them all.</summary>
public abstract class RayException : Exception
{
    /// <summary>Creates the exception with its code, message and optional cause.</summary>
    protected RayException(RayErrorCode code, string message, Exception? inner = null)
        : base(message, inner) => Code = code;

    /// <summary>The stable error code (sent on the wire between processes).</summary>
    public RayErrorCode Code { get; }
}
