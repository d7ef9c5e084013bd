using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace Ray.Data.Execution;

/// <summary>
/// The core of a task-pool operator: starts one task per input while the window and the byte
/// budget allow, and yields the outputs in input order as they become ready.
/// <para>
/// Where streaming returns fit later: <c>submit</c> returns one block per task here; an
/// operator using Core's streaming generators would return a sequence of refs per task and
/// this loop would yield each as it arrives (the ordering queue stays the same).
/// </para>
/// </summary>
internal static class OrderedWindow
{
    private sealed record Pending<TIn>(TIn Input, ObjectRef<byte[]> Output, long Started);

    /// <param name="ctx">The execution.</param>
    /// <param name="stats">Where tasks and outputs are counted.</param>
    /// <param name="inputs">What each task works on, in order.</param>
    /// <param name="window">Most tasks of this operator in flight.</param>
    /// <param name="submit">Starts the task for (input, index).</param>
    /// <param name="release">Called once an input's task has finished (or the run ends): frees the input.</param>
    /// <param name="label">What the output block is labelled with (its file), or null.</param>
    /// <param name="inspect">Looks at each output block (decoded, zero-copy) before it is yielded; may throw.</param>
    /// <param name="cancellationToken">Stops the run.</param>
    public static async IAsyncEnumerable<BlockRef> RunAsync<TIn>(
        ExecContext ctx, OperatorStats stats, IAsyncEnumerable<TIn> inputs, int window,
        Func<TIn, int, ObjectRef<byte[]>> submit, Action<TIn> release, Func<TIn, string?> label,
        Action<BlockHandle, TIn>? inspect,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var pending = new Queue<Pending<TIn>>();
        long lastBytes = 0;
        var index = 0;
        var more = true;
        await using var e = inputs.GetAsyncEnumerator(cancellationToken);
        try
        {
            while (true)
            {
                while (more && ctx.MaySubmit(pending.Count, lastBytes, window))
                {
                    if (!await e.MoveNextAsync().ConfigureAwait(false)) { more = false; break; }
                    stats.Start();
                    stats.Task();
                    var input = e.Current;
                    ObjectRef<byte[]> output;
                    try { output = submit(input, index++); }
                    catch { release(input); throw; }
                    pending.Enqueue(new(input, output, Stopwatch.GetTimestamp()));
                }
                if (pending.Count == 0) break;
                var head = pending.Peek();
                if (!head.Output.IsReady)
                    await ctx.Ray.WaitAsync([head.Output], 1, null, cancellationToken).ConfigureAwait(false);
                pending.Dequeue();
                long bytes, rows;
                try
                {
                    using var h = BlockHandle.Open(head.Output); // throws the task's error
                    bytes = h.Batch.Length == 0 ? 0 : BlockBytes(head.Output);
                    rows = h.Batch.Length;
                    inspect?.Invoke(h, head.Input);
                }
                catch
                {
                    head.Output.Dispose();
                    release(head.Input);
                    throw;
                }
                release(head.Input);
                lastBytes = Math.Max(lastBytes, bytes);
                stats.Output(bytes, rows, Stopwatch.GetElapsedTime(head.Started));
                yield return new BlockRef(head.Output, owned: true, bytes, label(head.Input)).Charge(ctx);
            }
        }
        finally
        {
            stats.Stop();
            while (pending.Count > 0)
            {
                var p = pending.Dequeue();
                p.Output.Dispose();
                release(p.Input);
            }
        }
    }

    private static long BlockBytes(ObjectRef<byte[]> r)
    {
        using var v = r.GetView();
        return v.Length;
    }

    /// <summary>A list as an async sequence.</summary>
    public static async IAsyncEnumerable<T> AsAsync<T>(IEnumerable<T> items)
    {
        foreach (var i in items) yield return i;
        await Task.CompletedTask.ConfigureAwait(false);
    }
}
