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
    // Encoding goes through a buffer each thread keeps (its pages stay mapped), then into an
    // exact-size array: fresh buffers of a block's size each cost page faults (~0.5 GB/s on
    // first touch here), which dominated a MapBatches task.
    [ThreadStatic] private static MemoryStream? t_buffer;

    /// <summary>The IPC bytes of <paramref name="batch"/>.</summary>
    public static byte[] Encode(RecordBatch batch)
    {
        var ms = t_buffer ??= new MemoryStream();
        ms.SetLength(0);
        using (var w = new ArrowStreamWriter(ms, batch.Schema, leaveOpen: true))
        {
            w.WriteRecordBatch(batch);
            w.WriteEnd();
        }
        var result = GC.AllocateUninitializedArray<byte>(checked((int)ms.Length));
        ms.GetBuffer().AsSpan(0, result.Length).CopyTo(result);
        if (ms.Capacity > 256 << 20) t_buffer = null; // do not keep a huge one
        return result;
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
