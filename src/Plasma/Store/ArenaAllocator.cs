namespace Ray.Plasma.Store;

/// <summary>
/// Best-fit allocator over the arena's offsets, with coalescing of freed neighbours. Blocks
/// are multiples of <see cref="Alignment"/> (64 bytes: a cache line, and enough for SIMD and
/// GPU copies). Metadata lives in managed memory, never in the shared arena, so a client
/// cannot corrupt it. Not thread-safe: the store's lock guards it.
/// </summary>
public sealed class ArenaAllocator
{
    /// <summary>Every block starts and ends on this boundary.</summary>
    public const long Alignment = 64;

    private readonly SortedSet<long> _freeOffsets = new();                 // ordered, for neighbour lookups
    private readonly Dictionary<long, long> _freeSize = new();             // offset -> size
    private readonly SortedSet<(long Size, long Offset)> _freeBySize = new(); // best fit

    /// <summary>Manages <paramref name="capacity"/> bytes (rounded down to the alignment).</summary>
    public ArenaAllocator(long capacity)
    {
        Capacity = capacity / Alignment * Alignment;
        if (Capacity > 0) AddFree(0, Capacity);
        FreeBytes = Capacity;
    }

    /// <summary>Bytes managed.</summary>
    public long Capacity { get; }

    /// <summary>Bytes not allocated.</summary>
    public long FreeBytes { get; private set; }

    /// <summary>Free blocks (a measure of fragmentation).</summary>
    public int FreeBlocks => _freeSize.Count;

    /// <summary>The largest request that would succeed now.</summary>
    public long LargestFree => _freeBySize.Count == 0 ? 0 : _freeBySize.Max.Size;

    /// <summary>Rounds a request up to the alignment.</summary>
    public static long RoundUp(long size) => (Math.Max(size, 1) + Alignment - 1) / Alignment * Alignment;

    /// <summary>Allocates the smallest free block that fits; false when none does.</summary>
    public bool TryAllocate(long size, out long offset)
    {
        offset = -1;
        var need = RoundUp(size);
        var view = _freeBySize.GetViewBetween((need, 0), (long.MaxValue, long.MaxValue));
        if (view.Count == 0) return false;
        var (blockSize, blockOffset) = view.Min;
        RemoveFree(blockOffset, blockSize);
        if (blockSize > need) AddFree(blockOffset + need, blockSize - need);
        FreeBytes -= need;
        offset = blockOffset;
        return true;
    }

    /// <summary>
    /// Allocates from the end of the free block with the highest offset (usually the arena's
    /// end): for small blocks that live long, kept out of the way of large ones. Best fit when
    /// that block is too small; false when no block fits.
    /// </summary>
    public bool TryAllocateAtEnd(long size, out long offset)
    {
        var need = RoundUp(size);
        if (_freeOffsets.Count == 0 || _freeSize[_freeOffsets.Max] < need) return TryAllocate(size, out offset);
        var blockOffset = _freeOffsets.Max;
        var blockSize = _freeSize[blockOffset];
        RemoveFree(blockOffset, blockSize);
        if (blockSize > need) AddFree(blockOffset, blockSize - need);
        FreeBytes -= need;
        offset = blockOffset + blockSize - need;
        return true;
    }

    /// <summary>Frees a block allocated with <paramref name="size"/>, merging it with free neighbours.</summary>
    public void Free(long offset, long size)
    {
        var length = RoundUp(size);
        FreeBytes += length;
        // Merge with the block after.
        if (_freeSize.TryGetValue(offset + length, out var nextSize))
        {
            RemoveFree(offset + length, nextSize);
            length += nextSize;
        }
        // Merge with the block before: the greatest free offset below ours.
        if (offset > 0)
        {
            var below = _freeOffsets.GetViewBetween(0, offset - 1);
            if (below.Count > 0)
            {
                var prev = below.Max;
                var prevSize = _freeSize[prev];
                if (prev + prevSize == offset)
                {
                    RemoveFree(prev, prevSize);
                    offset = prev;
                    length += prevSize;
                }
            }
        }
        AddFree(offset, length);
    }

    private void AddFree(long offset, long size)
    {
        _freeOffsets.Add(offset);
        _freeSize.Add(offset, size);
        _freeBySize.Add((size, offset));
    }

    private void RemoveFree(long offset, long size)
    {
        _freeOffsets.Remove(offset);
        _freeSize.Remove(offset);
        _freeBySize.Remove((size, offset));
    }
}
