using System.Buffers;
using System.Runtime.InteropServices;
using Apache.Arrow;

namespace Ray.Data.Blocks;

/// <summary>Arrow columns over managed arrays without copying them (the array becomes the Arrow buffer).</summary>
internal static class ArrayMemory
{
    public static ArrowBuffer Buffer<T>(T[] values) where T : unmanaged => new(new Manager<T>(values).Memory);

    public static Int64Array Int64(long[] v) => new(Buffer(v), ArrowBuffer.Empty, v.Length, 0, 0);
    public static Int32Array Int32(int[] v) => new(Buffer(v), ArrowBuffer.Empty, v.Length, 0, 0);
    public static DoubleArray Double(double[] v) => new(Buffer(v), ArrowBuffer.Empty, v.Length, 0, 0);
    public static FloatArray Float(float[] v) => new(Buffer(v), ArrowBuffer.Empty, v.Length, 0, 0);

    private sealed class Manager<T>(T[] array) : MemoryManager<byte> where T : unmanaged
    {
        private GCHandle _pin;

        public override Span<byte> GetSpan() => MemoryMarshal.AsBytes(array.AsSpan());

        public override unsafe MemoryHandle Pin(int elementIndex = 0)
        {
            if (!_pin.IsAllocated) _pin = GCHandle.Alloc(array, GCHandleType.Pinned);
            return new MemoryHandle((byte*)_pin.AddrOfPinnedObject() + elementIndex);
        }

        public override void Unpin() { }

        protected override void Dispose(bool disposing)
        {
            if (_pin.IsAllocated) _pin.Free();
        }
    }
}
