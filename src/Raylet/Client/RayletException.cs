using Ray.Contract.Messages;

namespace Ray.Raylet.Client;

/// <summary>
/// A raylet refused or failed a request (an error reply), or the connection to it failed.
/// <see cref="RayletCode"/> is the raylet's code; <see cref="RayException.Code"/> maps it onto
/// the runtime's codes (<see cref="RayErrorCode.Protocol"/> for refusals and malformed traffic).
/// </summary>
public sealed class RayletException : RayException
{
    /// <summary>Creates the exception.</summary>
    public RayletException(ClusterErrorCode code, string message, Exception? inner = null)
        : base(Map(code), message, inner) => RayletCode = code;

    /// <summary>The raylet's error code (<see cref="ClusterErrorCode.Unknown"/> when the connection failed without a reply).</summary>
    public ClusterErrorCode RayletCode { get; }

    private static RayErrorCode Map(ClusterErrorCode code) => code switch
    {
        ClusterErrorCode.ProtocolError or ClusterErrorCode.VersionMismatch or ClusterErrorCode.Unauthenticated => RayErrorCode.Protocol,
        ClusterErrorCode.ShuttingDown => RayErrorCode.RuntimeShutdown,
        _ => RayErrorCode.Unknown,
    };
}
