using Ray.Data.Plan;
using Ray.Data.Sinks;

namespace Ray.Data;

public sealed partial class Dataset
{
    /// <summary>Writes every block through <paramref name="sink"/> (one task per block, fused with the maps before it); returns the rows written.</summary>
    public async Task<long> WriteAsync(Datasink sink, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sink);
        sink.Prepare?.Invoke(sink.Argument);
        var ds = Step(OpSpec.Write, sink.WriteBlock, null, [sink.Argument]);
        var n = await ds.CountWrittenAsync(cancellationToken).ConfigureAwait(false);
        _last = ds._last;
        return n;
    }

    private async Task<long> CountWrittenAsync(CancellationToken ct)
    {
        long n = 0;
        await foreach (var r in IterRows(ct).ConfigureAwait(false)) n += r.Get<long>("rows_written");
        return n;
    }

    /// <summary>Writes through a sink (blocks until done); returns the rows written.</summary>
    public long Write(Datasink sink) => WriteAsync(sink).GetAwaiter().GetResult();

    /// <summary>Writes one Parquet file per block into <paramref name="directory"/> (<c>part-00000.parquet</c>, ...); returns the rows written.</summary>
    public long WriteParquet(string directory) => Write(FileSinks.Parquet(directory));

    /// <summary>Writes one CSV file (with a header) per block into <paramref name="directory"/>; returns the rows written.</summary>
    public long WriteCsv(string directory) => Write(FileSinks.Csv(directory));

    /// <summary>Writes one JSON-lines file per block into <paramref name="directory"/>; returns the rows written.</summary>
    public long WriteJson(string directory) => Write(FileSinks.Json(directory));
}
