using System.Buffers;
using Ray.Protocol;

namespace Ray.Contract.Messages;

internal static partial class ClusterCodec
{
    // ---- named actors (ClusterMessageKind.RegisterActorName .. LookupActorName) ----

    /// <summary>The largest actor address a SetActorAddress carries (a handle's wire form is ~100 bytes).</summary>
    internal const int MaxActorAddress = 4096;

    internal static byte[] EncodeActorName(string ns, string name, string? typeName = null, bool detached = false) => PayloadWriter.Build((ns, name, typeName, detached), static (w, s) =>
    {
        w.Utf8(s.ns);
        w.Utf8(s.name);
        if (s.typeName is null) return;
        w.Utf8(s.typeName);
        w.U8(s.detached ? (byte)1 : (byte)0);
    });

    /// <exception cref="ProtocolException">Truncated, trailing bytes, an unknown flag, or an empty name.</exception>
    internal static (string Namespace, string Name, string TypeName, bool Detached) DecodeRegisterActorName(ReadOnlySequence<byte> payload)
    {
        var r = new PayloadReader(payload, (ushort)ClusterMessageKind.RegisterActorName);
        var (ns, name, type) = (r.Utf8(), r.Utf8(), r.Utf8());
        var detached = r.Remaining > 0 ? r.U8() : (byte)0;
        r.End();
        if (name.Length == 0) throw new ProtocolException("RegisterActorName with an empty name");
        if (detached > 1) throw new ProtocolException($"RegisterActorName with unknown flag {detached}");
        return (ns, name, type, detached == 1);
    }

    internal static (string Namespace, string Name) DecodeLookupActorName(ReadOnlySequence<byte> payload)
    {
        var r = new PayloadReader(payload, (ushort)ClusterMessageKind.LookupActorName);
        var result = (r.Utf8(), r.Utf8());
        r.End();
        return result;
    }

    internal static byte[] EncodeSetActorAddress(string ns, string name, ReadOnlySpan<byte> address, uint workerId = 0)
    {
        if (address.Length > MaxActorAddress) throw new ArgumentException($"an actor address of {address.Length} bytes exceeds {MaxActorAddress}", nameof(address));
        var copy = address.ToArray();
        return PayloadWriter.Build((ns, name, copy, workerId), static (w, s) =>
        {
            w.Utf8(s.ns);
            w.Utf8(s.name);
            w.Bytes(s.copy);
            w.U32(s.workerId);
        });
    }

    internal static (string Namespace, string Name, byte[] Address, uint WorkerId) DecodeSetActorAddress(ReadOnlySequence<byte> payload)
    {
        var r = new PayloadReader(payload, (ushort)ClusterMessageKind.SetActorAddress);
        var result = (r.Utf8(), r.Utf8(), r.Bytes(MaxActorAddress), r.Remaining > 0 ? r.U32() : 0u);
        r.End();
        return result;
    }

    internal static byte[] EncodeWorkerId(uint workerId) => PayloadWriter.Build(workerId, static (w, id) => w.U32(id));

    internal static uint DecodeWorkerId(ReadOnlySequence<byte> payload, ClusterMessageKind kind)
    {
        var r = new PayloadReader(payload, (ushort)kind);
        var id = r.U32();
        r.End();
        return id;
    }

    internal static byte[] EncodeCancelTask(uint workerId, ulong owner, ulong sequence) => PayloadWriter.Build((workerId, owner, sequence), static (w, s) =>
    {
        w.U32(s.workerId);
        w.U64(s.owner);
        w.U64(s.sequence);
    });

    internal static (uint WorkerId, ulong Owner, ulong Sequence) DecodeCancelTask(ReadOnlySequence<byte> payload)
    {
        var r = new PayloadReader(payload, (ushort)ClusterMessageKind.CancelTask);
        var result = (r.U32(), r.U64(), r.U64());
        r.End();
        return result;
    }

    internal static byte[] EncodeActorFound(string typeName, byte[] address) => PayloadWriter.Build((typeName, address), static (w, s) =>
    {
        w.Utf8(s.typeName);
        w.Bytes(s.address);
    });

    internal static (string TypeName, byte[] Address) DecodeActorFound(ReadOnlySequence<byte> payload)
    {
        var r = new PayloadReader(payload, (ushort)ClusterMessageKind.LookupActorName);
        var result = (r.Utf8(), r.Bytes(MaxActorAddress));
        r.End();
        return result;
    }
}
