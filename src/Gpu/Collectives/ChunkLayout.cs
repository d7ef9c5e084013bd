namespace Ray.Gpu.Collectives;

/// <summary>
/// How a buffer splits into one chunk per rank: either near-equal pieces of a buffer of
/// <c>total</c> elements (all-reduce, reduce, broadcast) or fixed slots of <c>slot</c> elements
/// (all-gather, reduce-scatter). Piece boundaries are <c>i * total / world</c>, so sizes that do not
/// divide evenly (1000003 over 4 ranks, or 1 element over 4) still cover every element once.
/// </summary>
internal readonly struct ChunkLayout
{
    private readonly int _total;
    private readonly int _slot;
    private readonly int _world;

    private ChunkLayout(int total, int slot, int world)
    {
        _total = total;
        _slot = slot;
        _world = world;
    }

    public static ChunkLayout Pieces(int total, int world) => new(total, -1, world);

    public static ChunkLayout Slots(int slot, int world) => new(slot * world, slot, world);

    public Range this[int index]
    {
        get
        {
            index = ((index % _world) + _world) % _world;
            if (_slot >= 0)
            {
                return new Range(index * _slot, (index + 1) * _slot);
            }

            int start = (int)((long)index * _total / _world);
            int end = (int)((long)(index + 1) * _total / _world);
            return new Range(start, end);
        }
    }
}
