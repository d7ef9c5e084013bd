namespace Ray.Protocol;

/// <summary>
/// A peer sent bytes that are not a valid frame (oversized, truncated, unknown kind). The
/// connection that sent them is closed with this reason; the process keeps serving others.
/// </summary>
public sealed class ProtocolException(string message) : Exception(message);
