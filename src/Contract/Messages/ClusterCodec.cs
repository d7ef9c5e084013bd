using System.Buffers;
using Ray.Protocol;

namespace Ray.Contract.Messages;

/// <summary>
/// The one codec of the cluster's control messages (<see cref="ClusterMessageKind"/>; layouts in
/// docs/PROTOCOL.md): every message is encoded and decoded here, by the raylet, its CLI, drivers
/// and workers alike (task and actor payloads, which carry user values, are Ray.Core's TaskWire).
/// Decoders read untrusted bytes and throw only <see cref="ProtocolException"/>. Control messages
/// are rare (a few per job, lease or connection), so they allocate freely. Partial: Hello, errors
/// and the driver -&gt; worker handshake in ClusterCodec.Hello.cs, Status in ClusterCodec.Status.cs.
/// </summary>
internal static partial class ClusterCodec
{
    /// <summary>The most code paths or resources one message may list.</summary>
    internal const int MaxListLength = 1024;

    internal static byte[] EncodeRegisterJob(JobRegistration job) => PayloadWriter.Build(job, static (w, j) =>
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

    internal static byte[] EncodeJobAccepted(JobAccepted a) => PayloadWriter.Build(a, static (w, a) =>
    {
        w.U32(a.JobId);
        w.Utf8(a.NodeId);
        w.Utf8(a.PlasmaSocket);
        w.Utf8(a.SessionDir);
        WriteResources(w, a.Resources);
        w.U64(a.OwnerId);
    });

    internal static JobAccepted DecodeJobAccepted(ReadOnlySequence<byte> payload)
    {
        var r = new PayloadReader(payload, (ushort)ClusterMessageKind.RegisterJob);
        var a = new JobAccepted(r.U32(), r.Utf8(), r.Utf8(), r.Utf8(), ReadResources(ref r));
        if (r.Remaining > 0) a = a with { OwnerId = r.U64() };
        r.End();
        return a;
    }

    internal static byte[] EncodeRequestLease(LeasePurpose purpose, IReadOnlyList<ResourceAmount> request, LeasePlacement? placement = null) =>
        PayloadWriter.Build((purpose, request, placement), static (w, s) =>
        {
            w.U8((byte)s.purpose);
            WriteResources(w, s.request);
            if (s.placement is { } p)
            {
                w.U64(p.Owner);
                w.U64(p.Sequence);
                w.I32(p.Bundle);
            }
        });

    internal static (LeasePurpose Purpose, IReadOnlyList<ResourceAmount> Request, LeasePlacement? Placement) DecodeRequestLease(ReadOnlySequence<byte> payload)
    {
        var r = new PayloadReader(payload, (ushort)ClusterMessageKind.RequestLease);
        var purpose = r.U8();
        if (purpose > 2) throw new ProtocolException($"lease request with unknown purpose {purpose}");
        var request = ReadResources(ref r);
        LeasePlacement? placement = null;
        if (r.Remaining > 0)
        {
            placement = new LeasePlacement(r.U64(), r.U64(), (int)r.U32());
            if (placement.Value.Bundle < -1) throw new ProtocolException($"lease request for bundle {placement.Value.Bundle}; -1 (any) or an index");
        }
        r.End();
        return ((LeasePurpose)purpose, request, placement);
    }

    internal static byte[] EncodeLeaseGrant(LeaseGrant g) => PayloadWriter.Build(g, static (w, g) =>
    {
        w.U64(g.LeaseId);
        w.U32(g.WorkerId);
        w.I32(g.Pid);
        w.Utf8(g.WorkerSocket);
        WriteIds(w, g.GpuIds);
    });

    /// <summary><c>u16 n | u32 id*</c>: GPU ids (a lease's, or in WorkerHello).</summary>
    internal static void WriteIds(PayloadWriter w, IReadOnlyList<int> ids)
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

    internal static byte[] EncodeReturnLease(ulong leaseId, bool workerBroken) => PayloadWriter.Build((leaseId, workerBroken), static (w, s) =>
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

    internal static byte[] EncodeRegisterWorker(WorkerRegistration w) => PayloadWriter.Build(w, static (w, x) =>
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

    internal static byte[] EncodeWorkerBlocked(bool blocked) => [blocked ? (byte)1 : (byte)0];

    internal static bool DecodeWorkerBlocked(ReadOnlySequence<byte> payload)
    {
        var r = new PayloadReader(payload, (ushort)ClusterMessageKind.WorkerBlocked);
        var v = r.U8();
        if (v > 1) throw new ProtocolException($"WorkerBlocked with value {v}");
        r.End();
        return v == 1;
    }

    private static void WriteResources(PayloadWriter w, IReadOnlyList<ResourceAmount> list)
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
