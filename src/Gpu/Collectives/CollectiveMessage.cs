namespace Ray.Gpu.Collectives;

/// <summary>
/// One message between two ranks: a pooled array (returned by the receiver), the element count,
/// and the sender's operation sequence number, used to detect ranks calling different operations.
/// In-process messages carry a <c>T[]</c> and <see cref="TypeCode"/> 0; messages that arrived over
/// TCP carry the raw bytes in a pooled <c>byte[]</c> (null when empty) and the sender's element type code.
/// </summary>
internal readonly record struct CollectiveMessage(Array? Payload, int Length, long Sequence, string Operation, int TypeCode = 0);
