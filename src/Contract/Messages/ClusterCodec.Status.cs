using System.Buffers;
using Ray.Protocol;

namespace Ray.Contract.Messages;

internal static partial class ClusterCodec
{
    // ---- Status ----

    /// <summary>
    /// The Status reply: <c>i64 uptime ms | string session dir | u16 nodes | node* | u32 workers |
    /// u32 idle workers | u32 queued tasks | u32 clients | u32 objects | i64 store used |
    /// i64 store capacity | i64 spilled bytes | u32 jobs | u32 leases | placement group rows (as the
    /// PlacementGroupTable reply)</c>; a node is <c>string id | string address |
    /// u8 flags (1 head, 2 alive) | u16 resources | (string name | i64 total | i64 used)*</c> with
    /// amounts in 1/<see cref="ClusterProtocol.ResourceUnit"/> units.
    /// </summary>
    /// <exception cref="ArgumentException">More than 65535 nodes or resources, or an amount that is negative or not finite.</exception>
    internal static byte[] EncodeStatus(RayletStatusReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        if (report.Nodes.Count > ushort.MaxValue) throw new ArgumentException($"{report.Nodes.Count} nodes do not fit a status reply", nameof(report));
        foreach (var node in report.Nodes)
            if (node.Resources.Count > ushort.MaxValue) throw new ArgumentException($"node {node.NodeId} has {node.Resources.Count} resources, more than a status reply holds", nameof(report));
        return PayloadWriter.Build(report, static (b, report) =>
        {
            b.I64((long)report.Uptime.TotalMilliseconds);
            b.Utf8Truncated(report.SessionDir);
            b.U16((ushort)report.Nodes.Count);
            foreach (var node in report.Nodes) WriteNode(b, node);
            b.U32(Count(report.Workers));
            b.U32(Count(report.IdleWorkers));
            b.U32(Count(report.QueuedTasks));
            b.U32(Count(report.Clients));
            b.U32(Count(report.Objects));
            b.I64(report.ObjectStoreUsedBytes);
            b.I64(report.ObjectStoreCapacityBytes);
            b.I64(report.SpilledBytes);
            b.U32(Count(report.Jobs));
            b.U32(Count(report.Leases));
            WriteGroupRows(b, report.PlacementGroups);
        });
    }

    /// <summary>One node: <c>string id | string address | u8 flags (1 head, 2 alive) | u16 n | (string name | i64 total | i64 used)*</c>.</summary>
    internal static void WriteNode(PayloadWriter b, NodeStatus node)
    {
        if (node.Resources.Count > ushort.MaxValue) throw new ArgumentException($"node {node.NodeId} has {node.Resources.Count} resources, more than a message holds", nameof(node));
        b.Utf8Truncated(node.NodeId);
        b.Utf8Truncated(node.Address);
        b.U8((byte)((node.IsHead ? 1 : 0) | (node.Alive ? 2 : 0)));
        b.U16((ushort)node.Resources.Count);
        foreach (var res in node.Resources)
        {
            b.Utf8Truncated(res.Name);
            b.I64(ToFixed(res.Total));
            b.I64(ToFixed(res.Used));
        }
    }

    /// <exception cref="ProtocolException">Unknown flags or a negative amount.</exception>
    internal static NodeStatus ReadNode(ref PayloadReader r, string what)
    {
        var id = r.Utf8();
        var address = r.Utf8();
        var flags = r.U8();
        if (flags > 3) throw new ProtocolException($"{what} has unknown flags 0x{flags:x}");
        int resourceCount = r.U16();
        var resources = new List<ResourceUsage>(Math.Min(resourceCount, 64));
        for (var i = 0; i < resourceCount; i++)
        {
            var name = r.Utf8();
            var total = r.I64();
            var used = r.I64();
            if (total < 0 || used < 0)
                throw new ProtocolException($"{what}: resource '{name}' has a negative amount (total {total}, used {used})");
            resources.Add(new ResourceUsage(name, FromFixed(total), FromFixed(used)));
        }
        return new NodeStatus(id, address, (flags & 1) != 0, (flags & 2) != 0, resources);
    }

    /// <summary>RegisterNode / NodeHeartbeat: the sending node as it is now.</summary>
    internal static byte[] EncodeNode(NodeStatus node) => PayloadWriter.Build(node, static (w, n) => WriteNode(w, n));

    /// <exception cref="ProtocolException">Malformed, or an empty node id or address.</exception>
    internal static NodeStatus DecodeNode(ReadOnlySequence<byte> payload, ushort kind)
    {
        var r = new PayloadReader(payload, kind);
        var node = ReadNode(ref r, "a node message");
        r.End();
        if (node.NodeId.Length == 0 || node.Address.Length == 0) throw new ProtocolException("a node message without a node id or address");
        return node;
    }

    /// <summary>Reads a Status reply.</summary>
    /// <exception cref="ProtocolException">Truncated, trailing bytes, unknown node flags or negative amounts.</exception>
    internal static RayletStatusReport DecodeStatus(ReadOnlySequence<byte> payload)
    {
        var r = new PayloadReader(payload, (ushort)ClusterMessageKind.Status);
        var uptimeMs = r.I64();
        if (uptimeMs < 0 || uptimeMs > (long)TimeSpan.MaxValue.TotalMilliseconds)
            throw new ProtocolException($"status reply has an uptime of {uptimeMs} ms, outside what a TimeSpan holds");
        var sessionDir = r.Utf8();
        int nodeCount = r.U16();
        var nodes = new List<NodeStatus>(Math.Min(nodeCount, 64));
        for (var n = 0; n < nodeCount; n++) nodes.Add(ReadNode(ref r, $"status reply: node {n}"));
        var report = new RayletStatusReport
        {
            Uptime = TimeSpan.FromMilliseconds(uptimeMs),
            SessionDir = sessionDir,
            Nodes = nodes,
            Workers = ReadCount(ref r, "workers"),
            IdleWorkers = ReadCount(ref r, "idle workers"),
            QueuedTasks = ReadCount(ref r, "queued tasks"),
            Clients = ReadCount(ref r, "clients"),
            Objects = ReadCount(ref r, "objects"),
            ObjectStoreUsedBytes = r.I64(),
            ObjectStoreCapacityBytes = r.I64(),
            SpilledBytes = r.I64(),
            Jobs = ReadCount(ref r, "jobs"),
            Leases = ReadCount(ref r, "leases"),
        };
        report = report with { PlacementGroups = ReadGroupRows(ref r) };
        r.End();
        return report;
    }

    // ---- helpers ----

    /// <summary>A resource amount in wire units (the one fixed point, <see cref="Resources.ResourceUnits"/>).</summary>
    /// <exception cref="ArgumentOutOfRangeException">Negative, not finite, or above the one cap.</exception>
    internal static long ToFixed(double amount) =>
        Resources.ResourceUnits.Problem("a resource amount", amount) is { } problem
            ? throw new ArgumentOutOfRangeException(nameof(amount), amount, problem)
            : Resources.ResourceUnits.ToFixed(amount);

    /// <summary>A resource amount from wire units.</summary>
    internal static double FromFixed(long units) => Resources.ResourceUnits.FromFixed(units);

    private static uint Count(int n) => n < 0 ? throw new ArgumentOutOfRangeException(nameof(n), n, "counts are non-negative") : (uint)n;

    private static int ReadCount(ref PayloadReader r, string what)
    {
        var v = r.U32();
        return v > int.MaxValue ? throw new ProtocolException($"status reply: {what} count {v} is out of range") : (int)v;
    }
}
