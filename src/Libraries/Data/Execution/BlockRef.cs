using Apache.Arrow;
using Ray.Data.Blocks;

namespace Ray.Data.Execution;

/// <summary>
/// A block in the object store, as operators pass it on. <see cref="Owned"/> blocks are
/// freed when their consumer disposes them; a materialized dataset's blocks are not owned by
/// any execution and stay until the dataset is collected.
/// </summary>
internal sealed class BlockRef : IDisposable
{
    private ExecContext? _budget;

    public BlockRef(ObjectRef<byte[]> reference, bool owned, long bytes, string? label = null)
    {
        Ref = reference;
        Owned = owned;
        Bytes = bytes;
        Label = label;
    }

    public ObjectRef<byte[]> Ref { get; }
    public bool Owned { get; }
    /// <summary>Size of the block's IPC bytes.</summary>
    public long Bytes { get; }
    /// <summary>The file it was read from, for schema errors.</summary>
    public string? Label { get; }

    /// <summary>Counts the block against the execution's buffered bytes until disposed.</summary>
    public BlockRef Charge(ExecContext ctx)
    {
        _budget = ctx;
        ctx.AddBuffered(Bytes);
        return this;
    }

    /// <summary>Stops counting the block against its execution (it is kept beyond it, e.g. materialized).</summary>
    public BlockRef Keep()
    {
        Interlocked.Exchange(ref _budget, null)?.AddBuffered(-Bytes);
        return this;
    }

    /// <summary>Opens the block (zero-copy over the store's memory); dispose the handle when done with the batch.</summary>
    public BlockHandle Open() => BlockHandle.Open(Ref);

    public void Dispose()
    {
        Interlocked.Exchange(ref _budget, null)?.AddBuffered(-Bytes);
        if (Owned) Ref.Dispose();
    }
}

/// <summary>A decoded block and the store view its arrays point into.</summary>
internal sealed class BlockHandle : IDisposable
{
    private readonly ObjectView<byte> _view;

    private BlockHandle(ObjectView<byte> view, RecordBatch batch)
    {
        _view = view;
        Batch = batch;
    }

    public RecordBatch Batch { get; }

    public static BlockHandle Open(ObjectRef<byte[]> r)
    {
        var view = r.GetView();
        try { return new BlockHandle(view, BlockCodec.Decode(view.Memory)); }
        catch { view.Dispose(); throw; }
    }

    public void Dispose() => _view.Dispose();
}
