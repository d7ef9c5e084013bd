using System.Buffers;
using System.Buffers.Binary;
using Ray.Protocol;

namespace Ray.Contract.Messages;

internal static partial class ClusterCodec
{
    // ---- Hello (kind 1): every driver, worker and CLI to the raylet ----

    /// <summary>The Hello request: <c>u32 version | string token</c>.</summary>
    internal static byte[] EncodeHello(uint version, string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        return PayloadWriter.Build((version, token), static (w, s) =>
        {
            w.U32(s.version);
            w.Utf8Truncated(s.token);
        });
    }

    /// <summary>Reads a Hello request.</summary>
    /// <exception cref="ProtocolException">Truncated, trailing bytes, or a token longer than <see cref="ClusterProtocol.MaxTokenLength"/>.</exception>
    internal static (uint Version, string Token) DecodeHello(ReadOnlySequence<byte> payload)
    {
        var r = new PayloadReader(payload, (ushort)ClusterMessageKind.Hello);
        var version = r.U32();
        // The length prefix is checked before the string is read, so a huge claim allocates nothing.
        var tokenBytes = PeekU16(payload, 4);
        if (tokenBytes > ClusterProtocol.MaxTokenLength)
            throw new ProtocolException($"Hello token of {tokenBytes} bytes exceeds the limit of {ClusterProtocol.MaxTokenLength}");
        var token = r.Utf8();
        r.End();
        return (version, token);
    }

    /// <summary>The Hello reply: <c>u32 version | string node id | string plasma socket | string object store path</c>.</summary>
    internal static byte[] EncodeHelloReply(HelloReply reply)
    {
        ArgumentNullException.ThrowIfNull(reply);
        return PayloadWriter.Build(reply, static (w, r) =>
        {
            w.U32(r.Version);
            w.Utf8Truncated(r.NodeId);
            w.Utf8Truncated(r.PlasmaSocketPath);
            w.Utf8Truncated(r.ObjectStorePath);
        });
    }

    /// <summary>Reads a Hello reply.</summary>
    /// <exception cref="ProtocolException">Truncated or trailing bytes.</exception>
    internal static HelloReply DecodeHelloReply(ReadOnlySequence<byte> payload)
    {
        var r = new PayloadReader(payload, (ushort)ClusterMessageKind.Hello);
        var reply = new HelloReply(r.U32(), r.Utf8(), r.Utf8(), r.Utf8());
        r.End();
        return reply;
    }

    // ---- error replies (any kind, Error flag) ----

    /// <summary>An error reply's payload: <c>u16 code | string message</c> (the message cut to 4000 UTF-8 bytes).</summary>
    internal static byte[] EncodeError(ClusterErrorCode code, string? message) =>
        PayloadWriter.Build((code, message ?? ""), static (w, s) => WriteError(w, s.code, s.Item2));

    /// <summary>Writes an error reply's payload into <paramref name="w"/> (for senders that append to a pipe).</summary>
    internal static void WriteError(PayloadWriter w, ClusterErrorCode code, string message)
    {
        w.U16((ushort)code);
        w.Utf8Truncated(message);
    }

    /// <summary>Reads an error reply's payload.</summary>
    /// <exception cref="ProtocolException">Truncated or trailing bytes.</exception>
    internal static (ClusterErrorCode Code, string Message) DecodeError(ReadOnlySequence<byte> payload, ushort kind)
    {
        var r = new PayloadReader(payload, kind);
        var code = (ClusterErrorCode)r.U16();
        var message = r.Utf8();
        r.End();
        return (code, message);
    }

    // ---- driver -> worker handshake (the worker's Unix socket) ----

    /// <summary>WorkerHello: <c>u32 version | string token | u32 job id | u16 n | u32 GPU id*</c>.</summary>
    internal static void WriteWorkerHello(PayloadWriter w, string token, uint jobId, IReadOnlyList<int> gpuIds, LeaseContext? context = null)
    {
        w.U32(ClusterProtocol.Version);
        w.Utf8(token);
        w.U32(jobId);
        WriteIds(w, gpuIds);
        if (context is null) return;
        w.Utf8(context.Namespace);
        WriteResources(w, context.Resources);
        w.U8((byte)((context.Placement is null ? 0 : 1) | (context.CaptureChildTasks ? 2 : 0) | (context.Actor is null ? 0 : 4) | (context.Detached ? 8 : 0)));
        if (context.Placement is { } p)
        {
            w.U64(p.Owner);
            w.U64(p.Sequence);
            w.I32(p.Bundle);
        }
        if (context.Actor is { } a)
        {
            w.U64(a.Owner);
            w.U64(a.Sequence);
        }
    }

    /// <summary>Reads a WorkerHello (the GPU list is optional, for older drivers).</summary>
    /// <exception cref="ProtocolException">Truncated, too many GPU ids, or trailing bytes.</exception>
    internal static WorkerHello DecodeWorkerHello(ReadOnlySequence<byte> payload)
    {
        var r = new PayloadReader(payload, (ushort)ClusterMessageKind.WorkerHello);
        var version = r.U32();
        var token = r.Utf8();
        var job = r.U32();
        var gpus = r.Remaining > 0 ? ReadIds(ref r) : [];
        LeaseContext? context = null;
        if (r.Remaining > 0)
        {
            var ns = r.Utf8();
            var resources = ReadResources(ref r);
            var flags = r.U8();
            if (flags > 15) throw new ProtocolException($"WorkerHello with unknown lease flags 0x{flags:x}");
            LeasePlacement? placement = (flags & 1) != 0 ? new LeasePlacement(r.U64(), r.U64(), (int)r.U32()) : null;
            (ulong, ulong)? actor = (flags & 4) != 0 ? (r.U64(), r.U64()) : null;
            context = new LeaseContext(ns, resources, placement, (flags & 2) != 0, actor) { Detached = (flags & 8) != 0 };
        }
        r.End();
        return new WorkerHello(version, token, job, gpus) { Context = context };
    }

    /// <summary>WorkerHello's reply: <c>u32 worker id | i32 pid</c>.</summary>
    internal static void WriteWorkerHelloReply(PayloadWriter w, uint workerId, int pid)
    {
        w.U32(workerId);
        w.I32(pid);
    }

    /// <summary>DefineFunction: <c>u32 fn index | string assembly path | string declaring type | i32 metadata token | string method name</c>.</summary>
    internal static void WriteDefineFunction(PayloadWriter w, in FunctionDefinition f)
    {
        w.U32(f.Index);
        w.Utf8(f.AssemblyPath);
        w.Utf8(f.TypeName);
        w.I32(f.MetadataToken);
        w.Utf8(f.MethodName);
    }

    /// <summary>Reads a DefineFunction.</summary>
    /// <exception cref="ProtocolException">Truncated or trailing bytes.</exception>
    internal static FunctionDefinition DecodeDefineFunction(ReadOnlySequence<byte> payload)
    {
        var r = new PayloadReader(payload, (ushort)ClusterMessageKind.DefineFunction);
        var f = new FunctionDefinition(r.U32(), r.Utf8(), r.Utf8(), (int)r.U32(), r.Utf8());
        r.End();
        return f;
    }

    private static ushort PeekU16(ReadOnlySequence<byte> payload, int offset)
    {
        if (payload.Length < offset + 2) return 0; // the reader reports the truncation
        Span<byte> two = stackalloc byte[2];
        payload.Slice(offset, 2).CopyTo(two);
        return BinaryPrimitives.ReadUInt16LittleEndian(two);
    }
}
