using Apache.Arrow;

namespace Ray.Data;

/// <summary>
/// One read task of a datasource: a function that reads its part as Arrow batches, and the
/// argument it is called with. The function runs where the task runs (a worker process on a
/// cluster), so it must be a static method or a lambda that captures nothing; put what it
/// needs (a path, a range) into <paramref name="Argument"/>.
/// </summary>
/// <param name="Read">Reads the part; its batches become one block.</param>
/// <param name="Argument">What this task reads.</param>
/// <param name="Label">What errors name (e.g. the file); default the argument.</param>
public sealed record ReadTask(Func<string, IEnumerable<RecordBatch>> Read, string Argument, string? Label = null);

/// <summary>A source of data for <c>ray.Data().Read(datasource)</c> (Ray's <c>Datasource</c>): it plans read tasks.</summary>
public interface IDatasource
{
    /// <summary>A display name for stats.</summary>
    string Name { get; }

    /// <summary>The read tasks, ideally about <paramref name="parallelism"/> of them; each becomes a block.</summary>
    IReadOnlyList<ReadTask> GetReadTasks(int parallelism);

    /// <summary>Whether blocks of different tasks must have the same schema (checked as they arrive; a mismatch fails naming both).</summary>
    bool CheckSchema => true;
}

/// <summary>
/// A sink for <see cref="Dataset.Write"/> (Ray's <c>Datasink</c>): <paramref name="WriteBlock"/>
/// is called once per block where its task runs, with <paramref name="Argument"/> and the
/// block's index in the dataset, and returns the rows it wrote. It must be a static method or a
/// lambda that captures nothing.
/// </summary>
/// <param name="WriteBlock">(block, argument, block index) to rows written.</param>
/// <param name="Argument">E.g. the output directory.</param>
/// <param name="Prepare">Runs once on the driver before any block is written (e.g. creates the directory).</param>
public sealed record Datasink(Func<RecordBatch, string, int, long> WriteBlock, string Argument, Action<string>? Prepare = null);
