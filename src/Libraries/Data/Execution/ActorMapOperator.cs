namespace Ray.Data.Execution;

/// <summary>
/// MapBatches on an autoscaling actor pool: blocks go to the actor with the fewest in flight;
/// when every actor has <see cref="ActorPoolStrategy.MaxTasksInFlightPerActor"/> in flight and
/// the pool is below its maximum, one more actor starts. Actors are killed when the operator ends.
/// The pool never takes every CPU of the node when the pipeline also has tasks to run (Ray's
/// "actors on all CPUs hang"): it stays one CPU short of the total.
/// </summary>
internal sealed class ActorMapOperator(PhysicalOperator input, Type mapper, int batchSize, ActorPoolStrategy pool) : PhysicalOperator
{
    public override string Name => $"MapBatches({mapper.Name}, actors {pool.MinSize}..{pool.MaxSize})";

    public override async IAsyncEnumerable<BlockRef> ExecuteAsync(ExecContext ctx, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var actors = new List<(ActorHandle<BatchMapperActor> Actor, List<ObjectRef> InFlight)>();
        var max = MaxActors(ctx, pool);
        var typeName = mapper.AssemblyQualifiedName!;
        var options = new ActorOptions { NumCpus = pool.NumCpus, NumGpus = pool.NumGpus };
        ActorHandle<BatchMapperActor> Start()
        {
            var a = ctx.Ray.Actor<BatchMapperActor>(options).Remote(() => new BatchMapperActor(typeName));
            actors.Add((a, []));
            return a;
        }
        try
        {
            for (var i = 0; i < Math.Min(pool.MinSize, max); i++) Start();
            var window = Math.Max(1, max * pool.MaxTasksInFlightPerActor);
            ObjectRef<byte[]> Submit(BlockRef b, int index)
            {
                foreach (var a in actors) a.InFlight.RemoveAll(r => r.IsReady);
                var best = actors.MinBy(a => a.InFlight.Count);
                if (best.InFlight.Count >= pool.MaxTasksInFlightPerActor && actors.Count < max)
                {
                    Start();
                    best = actors[^1];
                }
                var r = best.Actor.Task((BatchMapperActor x, ObjectRef<byte[]> block, int n) => x.Process(block, n)).Remote(b.Ref, batchSize);
                best.InFlight.Add(r);
                return r;
            }
            await foreach (var o in OrderedWindow.RunAsync(ctx, ctx.NewStats(Name), input.ExecuteAsync(ctx, cancellationToken), window,
                               Submit, static b => b.Dispose(), static b => b.Label, null, cancellationToken).ConfigureAwait(false))
                yield return o;
        }
        finally
        {
            foreach (var a in actors) ctx.Ray.Kill(a.Actor);
        }
    }

    private static int MaxActors(ExecContext ctx, ActorPoolStrategy pool)
    {
        var max = Math.Max(Math.Max(1, pool.MinSize), pool.MaxSize);
        if (pool.NumCpus <= 0) return max;
        var cpus = ctx.Ray.ClusterResources.TryGetValue("CPU", out var c) ? c : Environment.ProcessorCount;
        var fit = (int)Math.Floor((cpus - 1) / pool.NumCpus);
        return Math.Max(1, Math.Min(max, fit));
    }
}
