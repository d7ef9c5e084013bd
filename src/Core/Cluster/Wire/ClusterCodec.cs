using System.Buffers;
using Ray.Protocol;

namespace Ray.Cluster.Wire;

/// <summary>A resource amount in fixed point (1/10000 unit), as on the wire.</summary>
internal readonly record struct ResourceAmount(string Name, long Units);

/// <summary>A driver's job registration.</summary>
internal sealed record JobRegistration(int DriverPid, string JobName, IReadOnlyList<string> CodePaths, bool Nested = false);

/// <summary>The raylet's answer to a job registration.</summary>
internal sealed record JobAccepted(uint JobId, string NodeId, string PlasmaSocket, string SessionDir, IReadOnlyList<ResourceAmount> Resources);

/// <summary>What a lease is for.</summary>
internal enum LeasePurpose : byte { Task = 0, Actor = 1 }

/// <summary>A granted lease: which worker, and where the driver reaches it.</summary>
internal sealed record LeaseGrant(ulong LeaseId, uint WorkerId, int Pid, string WorkerSocket)
{
    /// <summary>The node's GPUs this lease uses (empty without GPUs).</summary>
    internal IReadOnlyList<int> GpuIds { get; init; } = [];
}

/// <summary>A worker process announcing itself to its raylet.</summary>
internal sealed record WorkerRegistration(uint JobId, uint WorkerId, int Pid, string SocketPath);

/// <summary>
/// Encodes and decodes the cluster's control messages (<see cref="ClusterMessageKind"/>; layouts
/// in docs/PROTOCOL.md). Decoders read untrusted bytes and throw only <see cref="ProtocolException"/>.
/// Control messages are rare (a few per job or lease), so they allocate freely.
/// </summary>
internal static class ClusterCodec
{
    /// <summary>The most code paths or resources one message may list.</summary>
    internal const int MaxListLength = 1024;

    /// <summary>The version drivers and workers announce in Hello and WorkerHello.</summary>
    internal const uint Version = 1;

    internal static byte[] EncodeRegisterJob(JobRegistration job) => WireWriter.Build(job, static (w, j) =>
    {
        w.I32(j.DriverPid);
        w.Utf8(j.JobName);
        w.U16(checked((ushort)j.CodePaths.Count));
        foreach (var p in j.CodePaths) w.Utf8(p);
        if (j.Nested) w.U8(1);
    });

    internal static JobRegistration DecodeRegisterJob(ReadOnlySequence<byte> payload)
    {
        var r = new PayloadReader(payload, (ushort)ClusterMessageKind.RegisterJob);
        var pid = (int)r.U32();
        var name = r.Utf8();
        var n = ListLength(ref r, "code paths");
        var paths = new List<string>(n);
        for (var i = 0; i < n; i++) paths.Add(r.Utf8());
        var nested = false;
        if (r.Remaining > 0)
        {
            var flags = r.U8();
            if (flags > 1) throw new ProtocolException($"RegisterJob with unknown flags 0x{flags:x}");
            nested = flags == 1;
        }
        r.End();
        return new JobRegistration(pid, name, paths, nested);
    }

    internal static byte[] EncodeJobAccepted(JobAccepted a) => WireWriter.Build(a, static (w, a) =>
    {
        w.U32(a.JobId);
        w.Utf8(a.NodeId);
        w.Utf8(a.PlasmaSocket);
        w.Utf8(a.SessionDir);
        WriteResources(w, a.Resources);
    });

    internal static JobAccepted DecodeJobAccepted(ReadOnlySequence<byte> payload)
    {
        var r = new PayloadReader(payload, (ushort)ClusterMessageKind.RegisterJob);
        var a = new JobAccepted(r.U32(), r.Utf8(), r.Utf8(), r.Utf8(), ReadResources(ref r));
        r.End();
        return a;
    }

    internal static byte[] EncodeRequestLease(LeasePurpose purpose, IReadOnlyList<ResourceAmount> request) =>
        WireWriter.Build((purpose, request), static (w, s) =>
        {
            w.U8((byte)s.purpose);
            WriteResources(w, s.request);
        });

    internal static (LeasePurpose Purpose, IReadOnlyList<ResourceAmount> Request) DecodeRequestLease(ReadOnlySequence<byte> payload)
    {
        var r = new PayloadReader(payload, (ushort)ClusterMessageKind.RequestLease);
        var purpose = r.U8();
        if (purpose > 1) throw new ProtocolException($"lease request with unknown purpose {purpose}");
        var request = ReadResources(ref r);
        r.End();
        return ((LeasePurpose)purpose, request);
    }

    internal static byte[] EncodeLeaseGrant(LeaseGrant g) => WireWriter.Build(g, static (w, g) =>
    {
        w.U64(g.LeaseId);
        w.U32(g.WorkerId);
        w.I32(g.Pid);
        w.Utf8(g.WorkerSocket);
        WriteIds(w, g.GpuIds);
    });

    /// <summary><c>u16 n | u32 id*</c>: GPU ids (a lease's, or in WorkerHello).</summary>
    internal static void WriteIds(WireWriter w, IReadOnlyList<int> ids)
    {
        w.U16(checked((ushort)ids.Count));
        foreach (var id in ids) w.I32(id);
    }

    internal static int[] ReadIds(ref PayloadReader r)
    {
        var n = ListLength(ref r, "GPU ids");
        var ids = new int[n];
        for (var i = 0; i < n; i++)
        {
            var v = r.U32();
            if (v > 1 << 16) throw new ProtocolException($"GPU id {v} is out of range");
            ids[i] = (int)v;
        }
        return ids;
    }

    internal static LeaseGrant DecodeLeaseGrant(ReadOnlySequence<byte> payload)
    {
        var r = new PayloadReader(payload, (ushort)ClusterMessageKind.RequestLease);
        var g = new LeaseGrant(r.U64(), r.U32(), (int)r.U32(), r.Utf8());
        if (r.Remaining > 0) g = g with { GpuIds = ReadIds(ref r) };
        r.End();
        return g;
    }

    internal static byte[] EncodeReturnLease(ulong leaseId, bool workerBroken) => WireWriter.Build((leaseId, workerBroken), static (w, s) =>
    {
        w.U64(s.leaseId);
        w.U8(s.workerBroken ? (byte)1 : (byte)0);
    });

    internal static (ulong LeaseId, bool WorkerBroken) DecodeReturnLease(ReadOnlySequence<byte> payload)
    {
        var r = new PayloadReader(payload, (ushort)ClusterMessageKind.ReturnLease);
        var id = r.U64();
        var flags = r.U8();
        if (flags > 1) throw new ProtocolException($"ReturnLease with unknown flags 0x{flags:x}");
        r.End();
        return (id, flags == 1);
    }

    internal static byte[] EncodeRegisterWorker(WorkerRegistration w) => WireWriter.Build(w, static (w, x) =>
    {
        w.U32(x.JobId);
        w.U32(x.WorkerId);
        w.I32(x.Pid);
        w.Utf8(x.SocketPath);
    });

    internal static WorkerRegistration DecodeRegisterWorker(ReadOnlySequence<byte> payload)
    {
        var r = new PayloadReader(payload, (ushort)ClusterMessageKind.RegisterWorker);
        var x = new WorkerRegistration(r.U32(), r.U32(), (int)r.U32(), r.Utf8());
        r.End();
        return x;
    }

    /// <summary>The Hello request (kind 1) every driver, worker and CLI sends first: <c>u32 version | string token</c>.</summary>
    internal static byte[] EncodeHello(uint version, string token) => WireWriter.Build((version, token), static (w, s) =>
    {
        w.U32(s.version);
        w.Utf8Truncated(s.token);
    });

    /// <summary>The raylet's Hello reply: <c>u32 version | string node id | string plasma socket | string object store path</c>.</summary>
    internal static (uint Version, string NodeId, string PlasmaSocket, string ObjectStorePath) DecodeHelloReply(ReadOnlySequence<byte> payload)
    {
        var r = new PayloadReader(payload, 1);
        var reply = (r.U32(), r.Utf8(), r.Utf8(), r.Utf8());
        r.End();
        return reply;
    }

    internal static byte[] EncodeWorkerBlocked(bool blocked) => [blocked ? (byte)1 : (byte)0];

    internal static bool DecodeWorkerBlocked(ReadOnlySequence<byte> payload)
    {
        var r = new PayloadReader(payload, (ushort)ClusterMessageKind.WorkerBlocked);
        var v = r.U8();
        if (v > 1) throw new ProtocolException($"WorkerBlocked with value {v}");
        r.End();
        return v == 1;
    }

    /// <summary>An error reply's payload: <c>u16 code | string message</c> (the message cut to 4000 UTF-8 bytes).</summary>
    internal static byte[] EncodeError(ClusterErrorCode code, string? message) => EncodeError((ushort)code, message);

    /// <summary>The same with a raw code (the raylet's own error codes share the numbering).</summary>
    internal static byte[] EncodeError(ushort code, string? message) => WireWriter.Build((code, message ?? ""), static (w, s) =>
    {
        w.U16(s.code);
        w.Utf8Truncated(s.Item2);
    });

    internal static (ClusterErrorCode Code, string Message) DecodeError(ReadOnlySequence<byte> payload, ushort kind)
    {
        var r = new PayloadReader(payload, kind);
        var code = (ClusterErrorCode)r.U16();
        var message = r.Utf8();
        r.End();
        return (code, message);
    }

    private static void WriteResources(WireWriter w, IReadOnlyList<ResourceAmount> list)
    {
        w.U16(checked((ushort)list.Count));
        foreach (var (name, units) in list)
        {
            w.Utf8(name);
            w.I64(units);
        }
    }

    private static List<ResourceAmount> ReadResources(ref PayloadReader r)
    {
        var n = ListLength(ref r, "resources");
        var list = new List<ResourceAmount>(n);
        for (var i = 0; i < n; i++)
        {
            var name = r.Utf8();
            var units = r.I64();
            if (units < 0) throw new ProtocolException($"resource '{name}' has a negative amount ({units} units)");
            list.Add(new ResourceAmount(name, units));
        }
        return list;
    }

    private static int ListLength(ref PayloadReader r, string what)
    {
        int n = r.U16();
        if (n > MaxListLength) throw new ProtocolException($"a list of {n} {what} exceeds the limit of {MaxListLength}");
        return n;
    }
}
