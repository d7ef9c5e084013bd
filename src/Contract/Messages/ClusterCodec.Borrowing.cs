using System.Buffers;
using Ray.Protocol;

namespace Ray.Contract.Messages;

// Borrowed objects (ClusterMessageKind.WantObject, ObjectValue): a worker asks for the value of
// a ref whose object was pending when its owner sent it; the raylet routes by owner id.
internal static partial class ClusterCodec
{
    /// <summary>WantObject from a worker: the object's id.</summary>
    internal static byte[] EncodeWantObject(ulong owner, ulong sequence) => PayloadWriter.Build((owner, sequence), static (w, s) =>
    {
        w.U64(s.owner);
        w.U64(s.sequence);
    });

    internal static (ulong Owner, ulong Sequence) DecodeWantObject(ReadOnlySequence<byte> payload)
    {
        var r = new PayloadReader(payload, (ushort)ClusterMessageKind.WantObject);
        var result = (r.U64(), r.U64());
        r.End();
        return result;
    }

    /// <summary>WantObject as the raylet passes it to the owner: who wants it, and the id.</summary>
    internal static byte[] EncodeWantObjectFor(uint workerId, ulong owner, ulong sequence) => PayloadWriter.Build((workerId, owner, sequence), static (w, s) =>
    {
        w.U32(s.workerId);
        w.U64(s.owner);
        w.U64(s.sequence);
    });

    internal static (uint WorkerId, ulong Owner, ulong Sequence) DecodeWantObjectFor(ReadOnlySequence<byte> payload)
    {
        var r = new PayloadReader(payload, (ushort)ClusterMessageKind.WantObject);
        var result = (r.U32(), r.U64(), r.U64());
        r.End();
        return result;
    }

    /// <summary>CancelObject: the borrowed object's id and the cancel's flags (1 force, 2 recursive).</summary>
    internal static byte[] EncodeCancelObject(ulong owner, ulong sequence, bool force, bool recursive) => PayloadWriter.Build((owner, sequence, force, recursive), static (w, s) =>
    {
        w.U64(s.owner);
        w.U64(s.sequence);
        w.U8((byte)((s.force ? 1 : 0) | (s.recursive ? 2 : 0)));
    });

    /// <exception cref="ProtocolException">Truncated, trailing bytes or unknown flags.</exception>
    internal static (ulong Owner, ulong Sequence, bool Force, bool Recursive) DecodeCancelObject(ReadOnlySequence<byte> payload)
    {
        var r = new PayloadReader(payload, (ushort)ClusterMessageKind.CancelObject);
        var (owner, sequence, flags) = (r.U64(), r.U64(), r.U8());
        r.End();
        if (flags > 3) throw new ProtocolException($"CancelObject with unknown flags {flags}");
        return (owner, sequence, (flags & 1) != 0, (flags & 2) != 0);
    }

    /// <summary>The head of an ObjectValue from an owner (<c>u32 worker id | u64 owner | u64 sequence</c>), then the body.</summary>
    internal const int ObjectValueHead = 20;

    /// <summary>
    /// A failed ref body the raylet writes itself (its owner is gone): state 1 (failed), then
    /// <c>string type | string message | string stack</c>.
    /// </summary>
    internal static void WriteFailedBody(PayloadWriter w, string type, string message)
    {
        w.U8(1);
        w.Utf8(type);
        w.Utf8Truncated(message);
        w.Utf8("");
    }
}
