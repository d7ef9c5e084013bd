using Ray.Data.Execution;

namespace Ray.Data.Plan;

/// <summary>
/// Turns a logical plan into physical operators. Adjacent map steps with the same task
/// options fuse into one task per block, and into the read tasks below them (Ray's
/// Read->Map fusion); an actor-pool step or an all-to-all operator ends a fused stage.
/// </summary>
internal static class Planner
{
    public static PhysicalOperator Build(LogicalNode node)
    {
        switch (node)
        {
            case MapNode m:
            {
                var steps = new List<OpSpec>();
                LogicalNode below = m;
                while (below is MapNode mm && mm.Options == m.Options)
                {
                    steps.Insert(0, mm.Op);
                    below = mm.Input;
                }
                var stage = new StageSpec([.. steps]);
                return below is ReadNode r && TaskOptionsFit(r, m.Options)
                    ? new ReadOperator(r.Name, r.Reads, stage, m.Options, r.CheckSchema)
                    : new TaskMapOperator(Build(below), stage, m.Options);
            }
            case ReadNode r: return new ReadOperator(r.Name, r.Reads, StageSpec.None, DefaultTask, r.CheckSchema);
            case InputNode i: return new InputOperator(i.Name, i.Blocks);
            case ActorMapNode a: return new ActorMapOperator(Build(a.Input), a.Mapper, a.BatchSize, a.Pool);
            case AllToAllNode t: return new AllToAllOperator(Build(t.Input), t.Name, t.Run);
            case LimitNode l: return new LimitOperator(Build(l.Input), l.Limit);
            case UnionNode u: return new UnionOperator(u.Inputs.Select(Build).ToList());
            default: throw new NotSupportedException(node.GetType().Name);
        }
    }

    /// <summary>The options of read and plain map tasks: one CPU.</summary>
    public static TaskOptions DefaultTask { get; } = new() { NumCpus = 1 };

    // A read fuses with the maps above it when they ask for the same resources as a read does.
    private static bool TaskOptionsFit(ReadNode r, TaskOptions o) => o == DefaultTask || (o.NumGpus == 0 && o.NumCpus == 1 && o.Resources is null);
}
