using Ray.Data.Blocks;
using Ray.Data.Plan;

namespace Ray.Data.Execution;

/// <summary>The actor of an actor-pool MapBatches: builds the user's mapper once, then maps blocks.</summary>
public sealed class BatchMapperActor
{
    private readonly IBatchMapper _mapper;

    /// <summary>Builds the mapper named by its assembly-qualified type name.</summary>
    public BatchMapperActor(string mapperType)
    {
        var type = Type.GetType(mapperType, throwOnError: false) ?? throw new InvalidOperationException($"mapper type {mapperType} is not on the job's code paths");
        _mapper = (IBatchMapper)(Activator.CreateInstance(type) ?? throw new InvalidOperationException($"cannot construct {type.Name}"));
    }

    /// <summary>Maps one block in batches of <paramref name="batchSize"/> rows (0: the whole block).</summary>
    public byte[] Process(ObjectRef<byte[]> block, int batchSize)
    {
        using var h = BlockHandle.Open(block);
        return BlockCodec.Encode(StageRunner.MapInBatches(h.Batch, batchSize, _mapper.Map));
    }
}
