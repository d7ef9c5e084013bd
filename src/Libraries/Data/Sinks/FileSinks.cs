using System.Globalization;
using System.Text;
using System.Text.Json;
using Apache.Arrow;
using Apache.Arrow.Types;
using Parquet;
using Parquet.Schema;
using Ray.Data.Blocks;

namespace Ray.Data.Sinks;

/// <summary>The built-in file sinks: one file per block, <c>part-NNNNN.ext</c>, written where the block's task runs.</summary>
internal static class FileSinks
{
    public static Datasink Parquet(string dir) => new(WriteParquet, Path.GetFullPath(dir), static d => Directory.CreateDirectory(d));
    public static Datasink Csv(string dir) => new(WriteCsv, Path.GetFullPath(dir), static d => Directory.CreateDirectory(d));
    public static Datasink Json(string dir) => new(WriteJson, Path.GetFullPath(dir), static d => Directory.CreateDirectory(d));

    private static string FileFor(string dir, int index, string ext) => Path.Combine(dir, $"part-{index:D5}.{ext}");

    public static long WriteParquet(RecordBatch b, string dir, int index)
    {
        WriteParquetAsync(b, FileFor(dir, index, "parquet")).GetAwaiter().GetResult();
        return b.Length;
    }

    private static async Task WriteParquetAsync(RecordBatch b, string path)
    {
        var fields = new List<DataField>();
        for (var c = 0; c < b.ColumnCount; c++)
        {
            var a = b.Column(c);
            var t = Columns.ClrType(a.Data.DataType);
            var nullable = a.NullCount > 0 && t.IsValueType;
            fields.Add(new DataField(b.Schema.GetFieldByIndex(c).Name, nullable ? typeof(Nullable<>).MakeGenericType(t) : t, t.IsValueType ? nullable : true));
        }
        await using var fs = File.Create(path);
        await using var writer = await ParquetWriter.CreateAsync(new ParquetSchema(fields), fs).ConfigureAwait(false);
        using var rg = writer.CreateRowGroup();
        for (var c = 0; c < b.ColumnCount; c++)
        {
            var a = b.Column(c);
            var f = fields[c];
            switch (a)
            {
                case Int64Array x: await Write(rg, f, x, x.Values).ConfigureAwait(false); break;
                case Int32Array x: await Write(rg, f, x, x.Values).ConfigureAwait(false); break;
                case DoubleArray x: await Write(rg, f, x, x.Values).ConfigureAwait(false); break;
                case FloatArray x: await Write(rg, f, x, x.Values).ConfigureAwait(false); break;
                case BooleanArray x:
                {
                    var v = Enumerable.Range(0, x.Length).Select(i => x.GetValue(i)).ToArray();
                    if (f.IsNullable) await rg.WriteAsync(f, (ReadOnlyMemory<bool?>)v, null, null, default).ConfigureAwait(false);
                    else await rg.WriteAsync(f, (ReadOnlyMemory<bool>)v.Select(z => z!.Value).ToArray(), null, null, default).ConfigureAwait(false);
                    break;
                }
                case StringArray x: await rg.WriteAsync(f, Enumerable.Range(0, x.Length).Select(i => x.GetString(i)).ToArray(), null).ConfigureAwait(false); break;
                case BinaryArray x: await rg.WriteAsync(f, Enumerable.Range(0, x.Length).Select(i => x.IsNull(i) ? null! : x.GetBytes(i).ToArray()).ToArray(), null).ConfigureAwait(false); break;
                default: throw new NotSupportedException($"writing a {a.Data.DataType.Name} column to Parquet");
            }
        }
    }

    private static Task Write<T>(ParquetRowGroupWriter rg, DataField f, IArrowArray a, ReadOnlySpan<T> values) where T : struct
    {
        if (!f.IsNullable) return rg.WriteAsync(f, (ReadOnlyMemory<T>)values.ToArray(), null, null, default);
        var v = new T?[a.Length];
        for (var i = 0; i < v.Length; i++) v[i] = a.IsNull(i) ? null : values[i];
        return rg.WriteAsync(f, (ReadOnlyMemory<T?>)v, null, null, default);
    }

    public static long WriteCsv(RecordBatch b, string dir, int index)
    {
        using var w = new StreamWriter(FileFor(dir, index, "csv"), false, new UTF8Encoding(false));
        w.WriteLine(string.Join(",", b.Schema.FieldsList.Select(f => Quote(f.Name))));
        var cols = b.Arrays.ToArray();
        var sb = new StringBuilder();
        for (var i = 0; i < b.Length; i++)
        {
            sb.Clear();
            for (var c = 0; c < cols.Length; c++)
            {
                if (c > 0) sb.Append(',');
                var v = Columns.GetValue(cols[c], i);
                sb.Append(v switch { null => "", string s => Quote(s), byte[] bytes => Convert.ToBase64String(bytes), bool x => x ? "true" : "false", _ => Row.Format(v) });
            }
            w.WriteLine(sb);
        }
        return b.Length;
    }

    private static string Quote(string s) =>
        s.Length == 0 || s.IndexOfAny([',', '"', '\n', '\r']) >= 0 || s != s.Trim() ? "\"" + s.Replace("\"", "\"\"") + "\"" : s;

    public static long WriteJson(RecordBatch b, string dir, int index)
    {
        using var fs = File.Create(FileFor(dir, index, "json"));
        var cols = b.Arrays.ToArray();
        var names = b.Schema.FieldsList.Select(f => f.Name).ToArray();
        var newline = "\n"u8.ToArray();
        for (var i = 0; i < b.Length; i++)
        {
            using (var w = new Utf8JsonWriter(fs))
            {
                w.WriteStartObject();
                for (var c = 0; c < cols.Length; c++)
                {
                    w.WritePropertyName(names[c]);
                    switch (Columns.GetValue(cols[c], i))
                    {
                        case null: w.WriteNullValue(); break;
                        case long l: w.WriteNumberValue(l); break;
                        case int n: w.WriteNumberValue(n); break;
                        case double d: w.WriteNumberValue(d); break;
                        case float f: w.WriteNumberValue(f); break;
                        case bool x: w.WriteBooleanValue(x); break;
                        case byte[] bytes: w.WriteBase64StringValue(bytes); break;
                        case var o: w.WriteStringValue(Convert.ToString(o, CultureInfo.InvariantCulture)); break;
                    }
                }
                w.WriteEndObject();
            }
            fs.Write(newline);
        }
        return b.Length;
    }
}
