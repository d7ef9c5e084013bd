namespace Ray.Contract.Messages;

/// <summary>Constants of the cluster protocol shared by the raylet, its clients, drivers and workers.</summary>
public static class ClusterProtocol
{
    /// <summary>The protocol version a peer announces in Hello and WorkerHello; the raylet and workers refuse others.</summary>
    public const uint Version = 1;

    /// <summary>
    /// The largest payload accepted once a connection has said Hello. Today's messages are
    /// small control messages; the bound keeps a peer from making the raylet buffer without limit.
    /// </summary>
    public const int MaxPayload = 1 << 20;

    /// <summary>
    /// The largest payload accepted before Hello succeeded: an unauthenticated peer can make the
    /// raylet buffer at most this much.
    /// </summary>
    public const int MaxHelloPayload = 4096;

    /// <summary>The longest cluster token accepted in Hello, in UTF-8 bytes.</summary>
    public const int MaxTokenLength = 256;

    /// <summary>Resource amounts travel in fixed point: this many per unit (as Ray and Ray.Core do).</summary>
    public const long ResourceUnit = Resources.ResourceUnits.Unit;
}
