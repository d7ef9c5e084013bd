using Apache.Arrow;
using Apache.Arrow.Ipc;

namespace Ray.Data.Blocks;

/// <summary>
/// Blocks travel as Arrow IPC stream bytes (a schema message and one record batch). Reading
/// over a store view is zero-copy: the arrays point into the view's memory, which must outlive
/// the batch.
/// </summary>
internal static class BlockCodec
{
    /// <summary>The IPC bytes of <paramref name="batch"/>.</summary>
    public static byte[] Encode(RecordBatch batch)
    {
        var estimate = 256 + batch.Schema.FieldsList.Count * 256 + EstimateBytes(batch);
        using var ms = new MemoryStream((int)Math.Min(int.MaxValue - 64, estimate));
        using (var w = new ArrowStreamWriter(ms, batch.Schema, leaveOpen: true))
        {
            w.WriteRecordBatch(batch);
            w.WriteEnd();
        }
        return ms.Length == ms.Capacity ? ms.GetBuffer() : ms.ToArray();
    }

    /// <summary>The batch in <paramref name="bytes"/>, its arrays over that memory (no copy).</summary>
    public static RecordBatch Decode(ReadOnlyMemory<byte> bytes)
    {
        using var r = new ArrowStreamReader(bytes);
        return r.ReadNextRecordBatch() ?? new RecordBatch(r.Schema, r.Schema.FieldsList.Select(f => Columns.Build(f.DataType, [])), 0);
    }

    /// <summary>Bytes of the arrays' buffers (data, validity, offsets).</summary>
    public static long EstimateBytes(RecordBatch b)
    {
        long n = 0;
        foreach (var a in b.Arrays) foreach (var buf in a.Data.Buffers) n += buf.Length;
        return n;
    }
}
