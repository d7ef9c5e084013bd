using Ray.Protocol;

namespace Ray.Cluster.Wire;

/// <summary>
/// Task and actor-call payloads between a driver and a worker (docs/PROTOCOL.md, "Driver to worker"):
/// PushTask / ActorCall <c>u32 fn index | u64 result owner | u64 result sequence | u16 argc | value*</c>;
/// a reply <c>u8 status</c> then, for status 0 (ok), the result value; for 1 (user code threw),
/// 2 (the worker could not run it) and 3 (it ran, but its result could not be stored or an
/// argument read: the runtime's own typed error) <c>string exception type | string message | string stack</c>,
/// and for 3 then <c>u64 owner | u64 sequence</c> of the object the error names (nil if none).
/// </summary>
internal static class TaskWire
{
    internal const byte Ok = 0, UserError = 1, SystemError = 2, StoreError = 3;

    /// <summary>
    /// The status for an error that is not user code's: the runtime's own typed errors about a
    /// value (the object store is full, a value cannot be serialized) travel as what they are,
    /// the rest say the worker could not run the task.
    /// </summary>
    internal static byte SystemStatus(Exception e) =>
        e is ObjectStoreFullException or ObjectLostException or RaySerializationException ? StoreError : SystemError;

    /// <summary>After a status-3 error: the object it names (an argument that could not be read, or the result), nil if none.</summary>
    internal static void WriteErrorObject(PayloadWriter w, Exception e)
    {
        var id = e switch { ObjectStoreFullException f => f.ObjectId, ObjectLostException l => l.ObjectId, _ => ObjectId.Nil };
        w.U64(id.Owner);
        w.U64(id.Sequence);
    }

    /// <summary>Reads what <see cref="WriteErrorObject"/> wrote.</summary>
    internal static ObjectId ReadErrorObject(ReadOnlySpan<byte> p, ref int offset) =>
        new(ValueWire.ReadU64(p, ref offset), ValueWire.ReadU64(p, ref offset));

    internal static void WriteError(PayloadWriter w, byte status, string type, string message, string? stack)
    {
        w.U8(status);
        w.Utf8(Truncate(type, 1000));
        w.Utf8(Truncate(message, 3000));
        w.Utf8(Truncate(stack ?? "", 3900));
    }

    internal static void WriteError(PayloadWriter w, byte status, Exception e)
    {
        string message, stack;
        try { message = e.Message; } catch { message = "(its Message threw)"; }
        stack = StackFrames.UserStack(e) ?? ""; // user frames only: the worker's call loop is not the user's concern
        WriteError(w, status, e.GetType().FullName ?? e.GetType().Name, message, stack);
    }

    /// <summary>Reads what <see cref="WriteError(PayloadWriter, byte, string, string, string?)"/> wrote after the status byte.</summary>
    internal static (string Type, string Message, string Stack) ReadError(ReadOnlySpan<byte> p, ref int offset) =>
        (ValueWire.ReadUtf8(p, ref offset), ValueWire.ReadUtf8(p, ref offset), ValueWire.ReadUtf8(p, ref offset));

    internal static string Truncate(string s, int max) => s.Length <= max ? s : s[..max];

    /// <summary>Payload bytes of a frame as one span (copied into <paramref name="scratch"/> when the frame spans segments).</summary>
    internal static ReadOnlySpan<byte> Contiguous(in Frame frame, ref byte[]? scratch)
    {
        var p = frame.Payload;
        if (p.IsSingleSegment) return p.FirstSpan;
        var n = (int)p.Length;
        if (scratch is null || scratch.Length < n) scratch = new byte[Math.Max(n, 4096)];
        System.Buffers.BuffersExtensions.CopyTo(p, scratch);
        return scratch.AsSpan(0, n);
    }
}
