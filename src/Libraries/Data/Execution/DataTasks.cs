using System.Text.Json;
using Apache.Arrow;
using Ray.Data.Blocks;
using Ray.Data.Plan;

namespace Ray.Data.Execution;

/// <summary>
/// The remote functions Ray.Data runs. Static, so Core ships them to worker processes by name;
/// user code reaches them inside the stage as <see cref="FunctionReference"/>s. Each task
/// returns one block (Arrow IPC bytes); input blocks arrive as object refs and are read
/// through a zero-copy view of the store.
/// </summary>
internal static class DataTasks
{
    /// <summary>Reads one read task's batches (one block) and runs the stage fused after the read.</summary>
    public static byte[] Read(string read, string stage, int index)
    {
        var spec = ReadSpec.Parse(read);
        var fn = FunctionReference.Parse(spec.Fn).Resolve<Func<string, IEnumerable<RecordBatch>>>();
        var batches = fn(spec.Arg).ToList();
        RecordBatch block;
        try { block = BlockOps.Concat(batches); }
        catch (DataSchemaException e) { throw new DataSchemaException($"{spec.Label}: {e.Message}"); }
        return BlockCodec.Encode(StageRunner.Run(block, StageSpec.Parse(stage), index));
    }

    /// <summary>Runs a fused stage on one block.</summary>
    public static byte[] Transform(ObjectRef<byte[]> input, string stage, int index)
    {
        using var h = BlockHandle.Open(input);
        return BlockCodec.Encode(StageRunner.Run(h.Batch, StageSpec.Parse(stage), index));
    }

    /// <summary>
    /// One block from slices of several: <paramref name="slices"/> is JSON [offset, length] per
    /// input (Repartition, Split, Limit).
    /// </summary>
    public static byte[] Gather(ObjectRef<byte[]>[] inputs, string slices)
    {
        var ranges = JsonSerializer.Deserialize<long[][]>(slices)!;
        var handles = new List<BlockHandle>();
        try
        {
            var parts = new List<RecordBatch>();
            for (var i = 0; i < inputs.Length; i++)
            {
                var h = BlockHandle.Open(inputs[i]);
                handles.Add(h);
                parts.Add(h.Batch.Slice((int)ranges[i][0], (int)ranges[i][1]));
            }
            return BlockCodec.Encode(BlockOps.Concat(parts));
        }
        finally
        {
            foreach (var h in handles) h.Dispose();
        }
    }
}
