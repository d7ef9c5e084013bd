namespace Ray.Protocol;

/// <summary>Classifies close reasons of connections that never said Hello.</summary>
internal static class ConnectionRejections
{
    /// <summary>The rejection a close reason describes (or <paramref name="refusal"/>, when the Hello's handler named it) (the reasons written by <see cref="FramedConnection"/> and <see cref="HandshakeGate{T}"/>).</summary>
    internal static ConnectionRejection Classify(string reason, bool overCapacity, ConnectionRejection? refusal = null)
    {
        if (overCapacity) return ConnectionRejection.OverCapacity;
        if (refusal is { } known) return known;
        if (reason.StartsWith("evicted", StringComparison.Ordinal)) return ConnectionRejection.Evicted;
        if (reason.StartsWith("no Hello", StringComparison.Ordinal)) return ConnectionRejection.HandshakeTimeout;
        if (IsBadInput(reason)) return ConnectionRejection.BadInput;
        return ConnectionRejection.ClosedBeforeHello;
    }

    /// <summary>True when <see cref="FramedConnection"/> closed the connection for what the peer sent (or a fault handling it).</summary>
    internal static bool IsBadInput(string reason) =>
        reason.StartsWith("protocol error", StringComparison.Ordinal) || reason.StartsWith("internal error", StringComparison.Ordinal);
}
