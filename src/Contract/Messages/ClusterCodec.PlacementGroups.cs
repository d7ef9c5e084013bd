using System.Buffers;
using Ray.Protocol;

namespace Ray.Contract.Messages;

internal static partial class ClusterCodec
{
    // ---- placement groups (see ClusterMessageKind.CreatePlacementGroup .. WaitPlacementGroup) ----

    /// <summary>The most bundles one placement group may have.</summary>
    internal const int MaxBundles = 1024;

    internal static byte[] EncodeCreatePlacementGroup(PlacementGroupSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (spec.Bundles.Count is 0 or > MaxBundles) throw new ArgumentException($"a placement group has 1 to {MaxBundles} bundles, not {spec.Bundles.Count}", nameof(spec));
        return PayloadWriter.Build(spec, static (w, s) =>
        {
            w.U64(s.Owner);
            w.U64(s.Sequence);
            w.Utf8(s.Name);
            w.U8(s.Strategy);
            w.U8(s.Detached ? (byte)1 : (byte)0);
            w.U16((ushort)s.Bundles.Count);
            foreach (var b in s.Bundles) WriteResources(w, b);
        });
    }

    /// <exception cref="ProtocolException">Truncated, unknown strategy or lifetime, no bundle or too many, an empty bundle.</exception>
    internal static PlacementGroupSpec DecodeCreatePlacementGroup(ReadOnlySequence<byte> payload)
    {
        var r = new PayloadReader(payload, (ushort)ClusterMessageKind.CreatePlacementGroup);
        var owner = r.U64();
        var seq = r.U64();
        var name = r.Utf8();
        var strategy = r.U8();
        if (strategy > 3) throw new ProtocolException($"placement group with unknown strategy {strategy}");
        var lifetime = r.U8();
        if (lifetime > 1) throw new ProtocolException($"placement group with unknown lifetime {lifetime}");
        int n = r.U16();
        if (n is 0 or > MaxBundles) throw new ProtocolException($"a placement group has 1 to {MaxBundles} bundles, not {n}");
        var bundles = new List<IReadOnlyList<ResourceAmount>>(n);
        for (var i = 0; i < n; i++)
        {
            var b = ReadResources(ref r);
            if (!b.Exists(a => a.Units > 0)) throw new ProtocolException($"bundle {i} of placement group {name} asks for nothing");
            bundles.Add(b);
        }
        r.End();
        return new PlacementGroupSpec(owner, seq, name, strategy, lifetime == 1, bundles);
    }

    internal static byte[] EncodePlacementGroupId(ulong owner, ulong sequence) => PayloadWriter.Build((owner, sequence), static (w, s) =>
    {
        w.U64(s.owner);
        w.U64(s.sequence);
    });

    internal static (ulong Owner, ulong Sequence) DecodePlacementGroupId(ReadOnlySequence<byte> payload, ClusterMessageKind kind)
    {
        var r = new PayloadReader(payload, (ushort)kind);
        var id = (r.U64(), r.U64());
        r.End();
        return id;
    }

    /// <summary>The created (1) or pending (0) state of CreatePlacementGroup's reply.</summary>
    internal static bool DecodeCreatedFlag(ReadOnlySequence<byte> payload)
    {
        var r = new PayloadReader(payload, (ushort)ClusterMessageKind.CreatePlacementGroup);
        var v = r.U8();
        if (v > 1) throw new ProtocolException($"CreatePlacementGroup reply with state {v}");
        r.End();
        return v == 1;
    }

    /// <summary>
    /// A PlacementGroupTable request that asks for one group (empty asks for all): <c>u8 1 |
    /// string name</c> or <c>u8 2 | u64 owner | u64 sequence</c>.
    /// </summary>
    internal static byte[] EncodePlacementGroupFilter(string? name, ulong owner = 0, ulong sequence = 0) => PayloadWriter.Build((name, owner, sequence), static (w, s) =>
    {
        if (s.name is not null)
        {
            w.U8(1);
            w.Utf8(s.name);
            return;
        }
        w.U8(2);
        w.U64(s.owner);
        w.U64(s.sequence);
    });

    /// <summary>Reads a PlacementGroupTable request's filter: null for all.</summary>
    /// <exception cref="ProtocolException">An unknown filter kind, truncated or trailing bytes.</exception>
    internal static (string? Name, ulong Owner, ulong Sequence)? DecodePlacementGroupFilter(ReadOnlySequence<byte> payload)
    {
        if (payload.IsEmpty) return null;
        var r = new PayloadReader(payload, (ushort)ClusterMessageKind.PlacementGroupTable);
        (string?, ulong, ulong) filter = r.U8() switch
        {
            1 => (r.Utf8(), 0, 0),
            2 => (null, r.U64(), r.U64()),
            var k => throw new ProtocolException($"PlacementGroupTable with unknown filter kind {k}"),
        };
        r.End();
        return filter;
    }

    internal static byte[] EncodePlacementGroupTable(IReadOnlyList<PlacementGroupRow> rows) =>
        PayloadWriter.Build(rows, static (w, rows) => WriteGroupRows(w, rows));

    internal static List<PlacementGroupRow> DecodePlacementGroupTable(ReadOnlySequence<byte> payload)
    {
        var r = new PayloadReader(payload, (ushort)ClusterMessageKind.PlacementGroupTable);
        var rows = ReadGroupRows(ref r);
        r.End();
        return rows;
    }

    internal static void WriteGroupRows(PayloadWriter w, IReadOnlyList<PlacementGroupRow> rows)
    {
        w.U16(checked((ushort)Math.Min(rows.Count, MaxListLength)));
        for (var k = 0; k < rows.Count && k < MaxListLength; k++)
        {
            var row = rows[k];
            w.U64(row.Spec.Owner);
            w.U64(row.Spec.Sequence);
            w.Utf8Truncated(row.Spec.Name);
            w.U8(row.Spec.Strategy);
            w.U8(row.Spec.Detached ? (byte)1 : (byte)0);
            w.U8(row.State);
            w.U32(row.JobId);
            w.U16(checked((ushort)row.Usage.Count));
            foreach (var bundle in row.Usage)
            {
                w.U16(checked((ushort)bundle.Count));
                foreach (var u in bundle)
                {
                    w.Utf8Truncated(u.Name);
                    w.I64(ToFixed(u.Total));
                    w.I64(ToFixed(u.Used));
                }
            }
        }
    }

    internal static List<PlacementGroupRow> ReadGroupRows(ref PayloadReader r)
    {
        var n = ListLength(ref r, "placement groups");
        var rows = new List<PlacementGroupRow>(n);
        for (var k = 0; k < n; k++)
        {
            var owner = r.U64();
            var seq = r.U64();
            var name = r.Utf8();
            var strategy = r.U8();
            var detached = r.U8();
            var state = r.U8();
            if (strategy > 3 || detached > 1 || state > 2)
                throw new ProtocolException($"placement group row {k}: strategy {strategy}, lifetime {detached} or state {state} unknown");
            var job = r.U32();
            int bundles = r.U16();
            if (bundles > MaxBundles) throw new ProtocolException($"placement group row {k} has {bundles} bundles, more than {MaxBundles}");
            var usage = new List<IReadOnlyList<ResourceUsage>>(bundles);
            for (var b = 0; b < bundles; b++)
            {
                var m = ListLength(ref r, "bundle resources");
                var list = new List<ResourceUsage>(m);
                for (var i = 0; i < m; i++)
                {
                    var res = r.Utf8();
                    var total = r.I64();
                    var used = r.I64();
                    if (total < 0) throw new ProtocolException($"placement group row {k}: bundle {b} has a negative total of '{res}'");
                    list.Add(new ResourceUsage(res, FromFixed(total), FromFixed(used)));
                }
                usage.Add(list);
            }
            rows.Add(new PlacementGroupRow(new PlacementGroupSpecView(owner, seq, name, strategy, detached == 1), state, job, usage));
        }
        return rows;
    }
}
