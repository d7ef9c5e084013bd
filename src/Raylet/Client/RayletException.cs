using Ray.Raylet.Messages;

namespace Ray.Raylet.Client;

/// <summary>
/// A raylet refused or failed a request (an error reply), or the connection to it failed.
/// <see cref="RayletCode"/> is the raylet's code; <see cref="RayException.Code"/> maps it onto
/// the runtime's codes (<see cref="RayErrorCode.Protocol"/> for refusals and malformed traffic).
/// </summary>
public sealed class RayletException : RayException
{
    /// <summary>Creates the exception.</summary>
    public RayletException(RayletErrorCode code, string message, Exception? inner = null)
        : base(Map(code), message, inner) => RayletCode = code;

    /// <summary>The raylet's error code (<see cref="RayletErrorCode.Unknown"/> when the connection failed without a reply).</summary>
    public RayletErrorCode RayletCode { get; }

    private static RayErrorCode Map(RayletErrorCode code) => code switch
    {
        RayletErrorCode.ProtocolError or RayletErrorCode.VersionMismatch or RayletErrorCode.Unauthenticated => RayErrorCode.Protocol,
        RayletErrorCode.ShuttingDown => RayErrorCode.RuntimeShutdown,
        _ => RayErrorCode.Unknown,
    };
}
