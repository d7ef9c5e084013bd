using Ray.Protocol;

namespace Ray.Plasma.Server;

/// <summary>The Stats reply: every <see cref="PlasmaStats"/> field, in declaration order.</summary>
internal static class PlasmaStatsCodec
{
    internal const int Size = 8 * 12 + 4 * 3;

    internal static void Write(ref PayloadBuilder b, PlasmaStats s)
    {
        b.I64(s.CapacityBytes); b.I64(s.UsedBytes); b.U32((uint)s.Objects); b.U32((uint)s.SpilledObjectsNow);
        b.I64(s.Evictions); b.I64(s.SpillCount); b.I64(s.SpilledBytes); b.I64(BitConverter.DoubleToInt64Bits(s.SpillSeconds));
        b.I64(s.RestoreCount); b.I64(s.RestoredBytes); b.I64(BitConverter.DoubleToInt64Bits(s.RestoreSeconds));
        b.U32((uint)s.FreeBlocks); b.I64(s.LargestFreeBlock);
    }

    internal static PlasmaStats Read(ref PayloadReader r) => new()
    {
        CapacityBytes = r.I64(), UsedBytes = r.I64(), Objects = (int)r.U32(), SpilledObjectsNow = (int)r.U32(),
        Evictions = r.I64(), SpillCount = r.I64(), SpilledBytes = r.I64(), SpillSeconds = BitConverter.Int64BitsToDouble(r.I64()),
        RestoreCount = r.I64(), RestoredBytes = r.I64(), RestoreSeconds = BitConverter.Int64BitsToDouble(r.I64()),
        FreeBlocks = (int)r.U32(), LargestFreeBlock = r.I64(),
    };
}
