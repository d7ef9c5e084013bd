using Ray.Cluster.Wire;
using System.Buffers;
using System.Text;
using Ray.Protocol;

namespace Ray.Raylet.Messages;

/// <summary>
/// Encodes and decodes the raylet's message payloads (layouts in docs/PROTOCOL.md). Decoders
/// read untrusted bytes: they throw <see cref="ProtocolException"/> on anything malformed and
/// nothing else. These are control messages (a few per connection), so they allocate freely.
/// </summary>
public static class RayletCodec
{
    private const int MaxString = 4000; // PayloadBuilder.Utf8 truncates to this many bytes

    // ---- Hello ----

    /// <summary>The Hello request: <c>u32 version | string token</c>.</summary>
    public static byte[] EncodeHello(uint version, string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        return ClusterCodec.EncodeHello(version, token); // one encoder for the raylet, its CLI, drivers and workers
    }

    /// <summary>Reads a Hello request.</summary>
    /// <exception cref="ProtocolException">Truncated, trailing bytes, or a token longer than <see cref="RayletProtocol.MaxTokenLength"/>.</exception>
    public static (uint Version, string Token) DecodeHello(ReadOnlySequence<byte> payload)
    {
        var r = new PayloadReader(payload, (ushort)RayletMessageKind.Hello);
        var version = r.U32();
        // The length prefix is checked before the string is read, so a huge claim allocates nothing.
        var tokenBytes = PeekU16(payload, 4);
        if (tokenBytes > RayletProtocol.MaxTokenLength)
            throw new ProtocolException($"Hello token of {tokenBytes} bytes exceeds the limit of {RayletProtocol.MaxTokenLength}");
        var token = r.Utf8();
        r.End();
        return (version, token);
    }

    /// <summary>The Hello reply: <c>u32 version | string node id | string plasma socket | string object store path</c>.</summary>
    public static byte[] EncodeHelloReply(HelloReply reply)
    {
        ArgumentNullException.ThrowIfNull(reply);
        var buffer = new byte[4 + StringSize(reply.NodeId) + StringSize(reply.PlasmaSocketPath) + StringSize(reply.ObjectStorePath)];
        var b = new PayloadBuilder(buffer);
        b.U32(reply.Version);
        b.Utf8(reply.NodeId);
        b.Utf8(reply.PlasmaSocketPath);
        b.Utf8(reply.ObjectStorePath);
        return b.Written.ToArray();
    }

    /// <summary>Reads a Hello reply.</summary>
    /// <exception cref="ProtocolException">Truncated or trailing bytes.</exception>
    public static HelloReply DecodeHelloReply(ReadOnlySequence<byte> payload)
    {
        var (version, node, plasma, store) = ClusterCodec.DecodeHelloReply(payload);
        return new HelloReply(version, node, plasma, store);
    }

    // ---- Status ----

    /// <summary>
    /// The Status reply: <c>i64 uptime ms | string session dir | u16 nodes | node* | u32 workers |
    /// u32 idle workers | u32 queued tasks | u32 clients | u32 objects | i64 store used |
    /// i64 store capacity | i64 spilled bytes | u32 jobs | u32 leases</c>; a node is <c>string id | string address |
    /// u8 flags (1 head, 2 alive) | u16 resources | (string name | i64 total | i64 used)*</c> with
    /// amounts in 1/<see cref="RayletProtocol.ResourceUnit"/> units.
    /// </summary>
    /// <exception cref="ArgumentException">More than 65535 nodes or resources, or an amount that is negative or not finite.</exception>
    public static byte[] EncodeStatus(RayletStatusReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        if (report.Nodes.Count > ushort.MaxValue) throw new ArgumentException($"{report.Nodes.Count} nodes do not fit a status reply", nameof(report));
        var size = 8 + StringSize(report.SessionDir) + 2 + 4 * 7 + 8 * 3;
        foreach (var node in report.Nodes)
        {
            if (node.Resources.Count > ushort.MaxValue) throw new ArgumentException($"node {node.NodeId} has {node.Resources.Count} resources, more than a status reply holds", nameof(report));
            size += StringSize(node.NodeId) + StringSize(node.Address) + 1 + 2;
            foreach (var res in node.Resources) size += StringSize(res.Name) + 16;
        }
        var buffer = new byte[size];
        var b = new PayloadBuilder(buffer);
        b.I64((long)report.Uptime.TotalMilliseconds);
        b.Utf8(report.SessionDir);
        b.U16((ushort)report.Nodes.Count);
        foreach (var node in report.Nodes)
        {
            b.Utf8(node.NodeId);
            b.Utf8(node.Address);
            b.U8((byte)((node.IsHead ? 1 : 0) | (node.Alive ? 2 : 0)));
            b.U16((ushort)node.Resources.Count);
            foreach (var res in node.Resources)
            {
                b.Utf8(res.Name);
                b.I64(ToFixed(res.Total));
                b.I64(ToFixed(res.Used));
            }
        }
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
        return b.Written.ToArray();
    }

    /// <summary>Reads a Status reply.</summary>
    /// <exception cref="ProtocolException">Truncated, trailing bytes, unknown node flags or negative amounts.</exception>
    public static RayletStatusReport DecodeStatus(ReadOnlySequence<byte> payload)
    {
        var r = new PayloadReader(payload, (ushort)RayletMessageKind.Status);
        var uptimeMs = r.I64();
        if (uptimeMs < 0 || uptimeMs > (long)TimeSpan.MaxValue.TotalMilliseconds)
            throw new ProtocolException($"status reply has an uptime of {uptimeMs} ms, outside what a TimeSpan holds");
        var sessionDir = r.Utf8();
        int nodeCount = r.U16();
        var nodes = new List<NodeStatus>(Math.Min(nodeCount, 64));
        for (var n = 0; n < nodeCount; n++)
        {
            var id = r.Utf8();
            var address = r.Utf8();
            var flags = r.U8();
            if (flags > 3) throw new ProtocolException($"status reply: node {n} has unknown flags 0x{flags:x}");
            int resourceCount = r.U16();
            var resources = new List<ResourceUsage>(Math.Min(resourceCount, 64));
            for (var i = 0; i < resourceCount; i++)
            {
                var name = r.Utf8();
                var total = r.I64();
                var used = r.I64();
                if (total < 0 || used < 0)
                    throw new ProtocolException($"status reply: resource '{name}' of node {n} has a negative amount (total {total}, used {used})");
                resources.Add(new ResourceUsage(name, FromFixed(total), FromFixed(used)));
            }
            nodes.Add(new NodeStatus(id, address, (flags & 1) != 0, (flags & 2) != 0, resources));
        }
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
        r.End();
        return report;
    }

    // ---- errors ----

    /// <summary>An error reply's payload: <c>u16 code | string message</c>.</summary>
    public static byte[] EncodeError(RayletErrorCode code, string message) => ClusterCodec.EncodeError((ushort)code, message);

    /// <summary>Reads an error reply's payload.</summary>
    /// <exception cref="ProtocolException">Truncated or trailing bytes.</exception>
    public static (RayletErrorCode Code, string Message) DecodeError(ReadOnlySequence<byte> payload, ushort kind)
    {
        var (code, message) = ClusterCodec.DecodeError(payload, kind);
        return ((RayletErrorCode)code, message);
    }

    // ---- helpers ----

    /// <summary>A resource amount in wire units (1/<see cref="RayletProtocol.ResourceUnit"/>).</summary>
    /// <exception cref="ArgumentOutOfRangeException">Negative, not finite, or too large for an i64 of units.</exception>
    public static long ToFixed(double amount)
    {
        if (!double.IsFinite(amount) || amount < 0 || amount > long.MaxValue / (double)RayletProtocol.ResourceUnit)
            throw new ArgumentOutOfRangeException(nameof(amount), amount, "a resource amount must be finite, non-negative and below 9.2e14");
        return (long)Math.Round(amount * RayletProtocol.ResourceUnit);
    }

    /// <summary>A resource amount from wire units.</summary>
    public static double FromFixed(long units) => units / (double)RayletProtocol.ResourceUnit;

    /// <summary>Bytes a string takes in a payload (u16 length + UTF-8, truncated as PayloadBuilder does).</summary>
    internal static int StringSize(string s) => 2 + Math.Min(Encoding.UTF8.GetByteCount(s), MaxString);

    private static uint Count(int n) => n < 0 ? throw new ArgumentOutOfRangeException(nameof(n), n, "counts are non-negative") : (uint)n;

    private static int ReadCount(ref PayloadReader r, string what)
    {
        var v = r.U32();
        return v > int.MaxValue ? throw new ProtocolException($"status reply: {what} count {v} is out of range") : (int)v;
    }

    private static ushort PeekU16(ReadOnlySequence<byte> payload, int offset)
    {
        if (payload.Length < offset + 2) return 0; // the reader reports the truncation
        Span<byte> two = stackalloc byte[2];
        payload.Slice(offset, 2).CopyTo(two);
        return System.Buffers.Binary.BinaryPrimitives.ReadUInt16LittleEndian(two);
    }
}
