namespace Ray.Gpu.Collectives;

/// <summary>
/// One message between two ranks: a pooled array (returned by the receiver), the element count,
/// and the sender's operation sequence number, used to detect ranks calling different operations.
/// </summary>
internal readonly record struct CollectiveMessage(Array? Payload, int Length, long Sequence, string Operation);
