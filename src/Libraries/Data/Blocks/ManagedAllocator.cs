using System.Buffers;
using Apache.Arrow.Memory;

namespace Ray.Data.Blocks;

/// <summary>
/// Arrow buffers in managed arrays. Ray.Data builds its own arrays with this instead of Arrow's
/// default native allocator: a native buffer is freed by a finalizer once its array is
/// unreachable, even while a span still points into it (the IPC writer holds only the memory;
/// blocks built by Data's gather were seen freed mid-encode under GC pressure). A managed array
/// stays alive while a span points into it. Arrays users build natively are kept alive by
/// GC.KeepAlive where Data reads them (BlockCodec.Write, StageRunner.Run, Columns.Take).
/// </summary>
internal sealed class ManagedAllocator : MemoryAllocator
{
    public static ManagedAllocator Instance { get; } = new();

    protected override IMemoryOwner<byte> AllocateInternal(int length, out int bytesAllocated)
    {
        bytesAllocated = length;
        return new Owner(new byte[length]);
    }

    private sealed class Owner(byte[] array) : IMemoryOwner<byte>
    {
        public Memory<byte> Memory => array;

        public void Dispose() { }
    }
}
