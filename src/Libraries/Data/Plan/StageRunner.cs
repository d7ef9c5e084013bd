using Apache.Arrow;
using Ray.Data.Blocks;

namespace Ray.Data.Plan;

/// <summary>Runs a fused stage on one block, where the task runs (driver or worker process).</summary>
internal static class StageRunner
{
    public static RecordBatch Run(RecordBatch block, StageSpec stage, int blockIndex)
    {
        foreach (var op in stage.Ops)
        {
            var next = Apply(block, op, blockIndex);
            GC.KeepAlive(block); // its arrays may be native memory read through spans (see BlockCodec.Write)
            block = next;
        }
        return block;
    }

    private static RecordBatch Apply(RecordBatch b, OpSpec op, int blockIndex)
    {
        switch (op.Kind)
        {
            case OpSpec.Map:
            {
                var fn = Fn<Func<Row, Row>>(op);
                var rows = new List<IReadOnlyDictionary<string, object?>>(b.Length);
                foreach (var r in BlockOps.Rows(b)) rows.Add(fn(r) ?? throw new InvalidOperationException($"{op.Display} returned null"));
                return BlockOps.FromRows(rows);
            }
            case OpSpec.FlatMap:
            {
                var fn = Fn<Func<Row, IEnumerable<Row>>>(op);
                var rows = new List<IReadOnlyDictionary<string, object?>>(b.Length);
                foreach (var r in BlockOps.Rows(b)) rows.AddRange(fn(r) ?? []);
                return BlockOps.FromRows(rows);
            }
            case OpSpec.Filter:
            {
                var fn = Fn<Func<Row, bool>>(op);
                var keep = new List<int>(b.Length);
                var i = 0;
                foreach (var r in BlockOps.Rows(b)) { if (fn(r)) keep.Add(i); i++; }
                return keep.Count == b.Length ? b : BlockOps.Take(b, System.Runtime.InteropServices.CollectionsMarshal.AsSpan(keep));
            }
            case OpSpec.MapBatches:
            {
                var fn = Fn<Func<RecordBatch, RecordBatch>>(op);
                return MapInBatches(b, op.BatchSize, fn);
            }
            case OpSpec.AddColumn:
            {
                var fn = Fn<Func<RecordBatch, IArrowArray>>(op);
                return BlockOps.WithColumn(b, op.Args![0], fn(b));
            }
            case OpSpec.Select: return b.ColumnCount == 0 ? b : BlockOps.Select(b, op.Args!);
            case OpSpec.Drop: return b.ColumnCount == 0 ? b : BlockOps.Drop(b, op.Args!);
            case OpSpec.Rename: return b.ColumnCount == 0 ? b : BlockOps.Rename(b, op.Args!);
            case OpSpec.Write:
            {
                var fn = Fn<Func<RecordBatch, string, int, long>>(op);
                var n = b.Length > 0 && b.ColumnCount > 0 ? fn(b, op.Args![0], blockIndex) : 0;
                return new RecordBatch(new Schema([new Field("rows_written", Apache.Arrow.Types.Int64Type.Default, false)], null),
                    [new Int64Array.Builder().Append(n).Build(ManagedAllocator.Instance)], 1);
            }
            default: throw new NotSupportedException($"unknown step {op.Kind}");
        }
    }

    /// <summary>Calls <paramref name="fn"/> on slices of at most <paramref name="batchSize"/> rows (0: the whole block) and concatenates.</summary>
    public static RecordBatch MapInBatches(RecordBatch b, int batchSize, Func<RecordBatch, RecordBatch> fn)
    {
        if (batchSize <= 0 || batchSize >= b.Length) return fn(b) ?? BlockOps.Empty;
        var outs = new List<RecordBatch>();
        for (var o = 0; o < b.Length; o += batchSize) outs.Add(fn(b.Slice(o, Math.Min(batchSize, b.Length - o))) ?? BlockOps.Empty);
        return BlockOps.Concat(outs);
    }

    private static T Fn<T>(OpSpec op) where T : Delegate => FunctionReference.Parse(op.Fn!).Resolve<T>();
}
