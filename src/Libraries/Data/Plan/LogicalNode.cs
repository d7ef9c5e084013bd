using Ray.Data.Execution;

namespace Ray.Data.Plan;

/// <summary>A node of a dataset's lazy logical plan; nothing runs until a consumer executes it.</summary>
internal abstract record LogicalNode;

/// <summary>Read tasks of a source (files, a range, a user datasource).</summary>
internal sealed record ReadNode(string Name, IReadOnlyList<ReadSpec> Reads, bool CheckSchema) : LogicalNode;

/// <summary>Blocks already in the store.</summary>
internal sealed record InputNode(string Name, IReadOnlyList<BlockRef> Blocks) : LogicalNode;

/// <summary>A row or batch map step; adjacent ones with the same task options fuse.</summary>
internal sealed record MapNode(LogicalNode Input, OpSpec Op, TaskOptions Options) : LogicalNode;

/// <summary>MapBatches with a class built once per actor of a pool.</summary>
internal sealed record ActorMapNode(LogicalNode Input, Type Mapper, int BatchSize, ActorPoolStrategy Pool) : LogicalNode;

/// <summary>A materializing operator.</summary>
internal sealed record AllToAllNode(LogicalNode Input, string Name, Func<ExecContext, OperatorStats, IReadOnlyList<BlockRef>, CancellationToken, Task<IReadOnlyList<BlockRef>>> Run) : LogicalNode;

/// <summary>The first N rows.</summary>
internal sealed record LimitNode(LogicalNode Input, long Limit) : LogicalNode;

/// <summary>Several datasets one after the other.</summary>
internal sealed record UnionNode(IReadOnlyList<LogicalNode> Inputs) : LogicalNode;
