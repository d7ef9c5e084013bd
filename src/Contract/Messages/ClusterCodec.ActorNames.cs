using System.Buffers;
using Ray.Protocol;

namespace Ray.Contract.Messages;

internal static partial class ClusterCodec
{
    // ---- named actors (ClusterMessageKind.RegisterActorName .. LookupActorName) ----

    /// <summary>The largest actor address a SetActorAddress carries (a handle's wire form is ~100 bytes).</summary>
    internal const int MaxActorAddress = 4096;

    internal static byte[] EncodeActorName(string ns, string name, string? typeName = null) => PayloadWriter.Build((ns, name, typeName), static (w, s) =>
    {
        w.Utf8(s.ns);
        w.Utf8(s.name);
        if (s.typeName is not null) w.Utf8(s.typeName);
    });

    /// <exception cref="ProtocolException">Truncated, trailing bytes, or an empty name.</exception>
    internal static (string Namespace, string Name, string TypeName) DecodeRegisterActorName(ReadOnlySequence<byte> payload)
    {
        var r = new PayloadReader(payload, (ushort)ClusterMessageKind.RegisterActorName);
        var result = (r.Utf8(), r.Utf8(), r.Utf8());
        r.End();
        if (result.Item2.Length == 0) throw new ProtocolException("RegisterActorName with an empty name");
        return result;
    }

    internal static (string Namespace, string Name) DecodeLookupActorName(ReadOnlySequence<byte> payload)
    {
        var r = new PayloadReader(payload, (ushort)ClusterMessageKind.LookupActorName);
        var result = (r.Utf8(), r.Utf8());
        r.End();
        return result;
    }

    internal static byte[] EncodeSetActorAddress(string ns, string name, ReadOnlySpan<byte> address)
    {
        if (address.Length > MaxActorAddress) throw new ArgumentException($"an actor address of {address.Length} bytes exceeds {MaxActorAddress}", nameof(address));
        var copy = address.ToArray();
        return PayloadWriter.Build((ns, name, copy), static (w, s) =>
        {
            w.Utf8(s.ns);
            w.Utf8(s.name);
            w.Bytes(s.copy);
        });
    }

    internal static (string Namespace, string Name, byte[] Address) DecodeSetActorAddress(ReadOnlySequence<byte> payload)
    {
        var r = new PayloadReader(payload, (ushort)ClusterMessageKind.SetActorAddress);
        var result = (r.Utf8(), r.Utf8(), r.Bytes(MaxActorAddress));
        r.End();
        return result;
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
