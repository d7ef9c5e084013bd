using System.Runtime.CompilerServices;
using Ray.Data.Blocks;
using Ray.Data.Plan;

namespace Ray.Data.Execution;

/// <summary>Read tasks, one per file / row group / range, with the map steps fused after the read.</summary>
internal sealed class ReadOperator(string name, IReadOnlyList<ReadSpec> reads, StageSpec stage, TaskOptions options, bool checkSchema) : PhysicalOperator
{
    public override string Name => stage.Ops.Length == 0 ? name : $"{name}->{stage.Display}";

    public override IAsyncEnumerable<BlockRef> ExecuteAsync(ExecContext ctx, CancellationToken cancellationToken)
    {
        var fn = ctx.Ray.Task((Func<string, string, int, byte[]>)DataTasks.Read).Options(options);
        var stageJson = stage.ToJson();
        var stats = ctx.NewStats(Name);
        Apache.Arrow.Schema? first = null;
        string? firstLabel = null;
        return OrderedWindow.RunAsync(ctx, stats, OrderedWindow.AsAsync(reads), ctx.Options.MaxTasksInFlightPerOperator,
            (r, i) => fn.Remote(r.ToJson(), stageJson, i), static _ => { }, r => r.Label,
            checkSchema ? (h, r) =>
            {
                if (h.Batch.Length == 0 && h.Batch.ColumnCount == 0) return;
                if (first is null) { first = h.Batch.Schema; firstLabel = r.Label; return; }
                if (!BlockOps.SameSchema(first, h.Batch.Schema))
                    throw new DataSchemaException($"schema mismatch across files: {r.Label} has ({BlockOps.Describe(h.Batch.Schema)}) but {firstLabel} has ({BlockOps.Describe(first)})");
            } : null,
            cancellationToken);
    }
}

/// <summary>Blocks already in the store (a materialized dataset, FromItems, FromArrow): yielded as they are, not freed.</summary>
internal sealed class InputOperator(string name, IReadOnlyList<BlockRef> blocks) : PhysicalOperator
{
    public override string Name => name;

    public override async IAsyncEnumerable<BlockRef> ExecuteAsync(ExecContext ctx, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var stats = ctx.NewStats(Name);
        foreach (var b in blocks)
        {
            cancellationToken.ThrowIfCancellationRequested();
            stats.Output(b.Bytes, 0, TimeSpan.Zero);
            yield return new BlockRef(b.Ref, owned: false, b.Bytes, b.Label).Charge(ctx);
        }
        await Task.CompletedTask.ConfigureAwait(false);
    }
}

/// <summary>A fused chain of map steps, one task per input block.</summary>
internal sealed class TaskMapOperator(PhysicalOperator input, StageSpec stage, TaskOptions options) : PhysicalOperator
{
    public override string Name => stage.Display;

    public override IAsyncEnumerable<BlockRef> ExecuteAsync(ExecContext ctx, CancellationToken cancellationToken)
    {
        var fn = ctx.Ray.Task((Func<ObjectRef<byte[]>, string, int, byte[]>)DataTasks.Transform).Options(options);
        var stageJson = stage.ToJson();
        return OrderedWindow.RunAsync(ctx, ctx.NewStats(Name), input.ExecuteAsync(ctx, cancellationToken), ctx.Options.MaxTasksInFlightPerOperator,
            (b, i) => fn.Remote(b.Ref, stageJson, i), static b => b.Dispose(), static b => b.Label, null, cancellationToken);
    }
}

/// <summary>The first rows of its input: stops pulling once it has them, slicing the last block.</summary>
internal sealed class LimitOperator(PhysicalOperator input, long limit) : PhysicalOperator
{
    public override string Name => $"Limit({limit})";

    public override async IAsyncEnumerable<BlockRef> ExecuteAsync(ExecContext ctx, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var stats = ctx.NewStats(Name);
        long left = limit;
        if (left <= 0) yield break;
        await foreach (var b in input.ExecuteAsync(ctx, cancellationToken).ConfigureAwait(false))
        {
            int rows;
            using (var h = b.Open()) rows = h.Batch.Length;
            if (rows <= left)
            {
                left -= rows;
                stats.Output(b.Bytes, rows, TimeSpan.Zero);
                yield return b;
            }
            else
            {
                byte[] bytes;
                using (var h = b.Open()) bytes = BlockCodec.Encode(h.Batch.Slice(0, (int)left));
                b.Dispose();
                stats.Output(bytes.Length, left, TimeSpan.Zero);
                left = 0;
                yield return new BlockRef(ctx.Ray.Put(bytes), owned: true, bytes.Length).Charge(ctx);
            }
            if (left == 0) yield break;
        }
    }
}

/// <summary>The blocks of several inputs, one input after the other.</summary>
internal sealed class UnionOperator(IReadOnlyList<PhysicalOperator> inputs) : PhysicalOperator
{
    public override string Name => "Union";

    public override async IAsyncEnumerable<BlockRef> ExecuteAsync(ExecContext ctx, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        foreach (var i in inputs)
            await foreach (var b in i.ExecuteAsync(ctx, cancellationToken).ConfigureAwait(false))
                yield return b;
    }
}

/// <summary>A materializing operator (shuffle, sort, group-by, repartition): takes every input block, then runs <c>run</c>.</summary>
internal sealed class AllToAllOperator(PhysicalOperator input, string name, Func<ExecContext, OperatorStats, IReadOnlyList<BlockRef>, CancellationToken, Task<IReadOnlyList<BlockRef>>> run) : PhysicalOperator
{
    public override string Name => name;

    public override async IAsyncEnumerable<BlockRef> ExecuteAsync(ExecContext ctx, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var blocks = new List<BlockRef>();
        IReadOnlyList<BlockRef> outputs;
        var stats = ctx.NewStats(Name);
        try
        {
            // A materializing operator holds all of its input by design: those blocks leave the
            // streaming budget, or the operators below would crawl one task at a time.
            await foreach (var b in input.ExecuteAsync(ctx, cancellationToken).ConfigureAwait(false)) blocks.Add(b.Keep());
            stats.Start();
            outputs = await run(ctx, stats, blocks, cancellationToken).ConfigureAwait(false);
            stats.Stop();
        }
        finally
        {
            foreach (var b in blocks) b.Dispose();
        }
        var next = 0;
        try
        {
            for (; next < outputs.Count; next++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                yield return outputs[next];
            }
        }
        finally
        {
            // A consumer that stops early owns what it took; the rest are freed here.
            for (var j = next + 1; j < outputs.Count; j++) outputs[j].Dispose();
        }
    }
}
