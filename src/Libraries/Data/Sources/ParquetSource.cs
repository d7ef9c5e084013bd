using System.Text.Json;
using Apache.Arrow;
using Apache.Arrow.Types;
using Parquet;
using Parquet.Schema;
using Field = Apache.Arrow.Field;
using Schema = Apache.Arrow.Schema;
using Ray.Data.Blocks;

namespace Ray.Data.Sources;

/// <summary>
/// Parquet files: the driver reads each file's footer (schema, row groups) to plan one read
/// task per row group and to report a schema mismatch across files before anything runs; a
/// task reads its row group's projected columns straight into Arrow arrays.
/// </summary>
internal static class ParquetSource
{
    internal sealed record Part(string Path, int RowGroup, string[]? Columns);

    public static List<ReadTask> Plan(IEnumerable<string> paths, string[]? columns)
    {
        var tasks = new List<ReadTask>();
        string? firstFile = null;
        string? firstSchema = null;
        foreach (var file in FilePaths.Expand(paths))
        {
            int groups;
            string schema;
            try
            {
                var reader = ParquetReader.CreateAsync(file).GetAwaiter().GetResult();
                using var _ = new AsyncDisposer(reader);
                groups = reader.RowGroupCount;
                schema = Describe(Project(reader.Schema, columns, file));
            }
            catch (Exception e) when (e is not DataException)
            {
                throw new DataReadException($"{file}: not a readable Parquet file: {e.Message}", e);
            }
            if (firstSchema is null) { firstSchema = schema; firstFile = file; }
            else if (schema != firstSchema)
                throw new DataSchemaException($"schema mismatch across files: {file} has ({schema}) but {firstFile} has ({firstSchema})");
            for (var g = 0; g < groups; g++)
                tasks.Add(new ReadTask(ReadRowGroup, JsonSerializer.Serialize(new Part(file, g, columns)), $"{file} (row group {g})"));
        }
        return tasks;
    }

    private static DataField[] Project(ParquetSchema schema, string[]? columns, string file)
    {
        var fields = schema.GetDataFields();
        if (columns is null) return fields;
        return columns.Select(c => fields.FirstOrDefault(f => f.Name == c)
            ?? throw new DataSchemaException($"{file}: no column '{c}' (columns: {string.Join(", ", fields.Select(f => f.Name))})")).ToArray();
    }

    private static string Describe(DataField[] fields) => string.Join(", ", fields.Select(f => $"{f.Name}: {f.ClrType.Name}"));

    /// <summary>Reads one row group (the read task's function).</summary>
    public static IEnumerable<RecordBatch> ReadRowGroup(string arg)
    {
        var part = JsonSerializer.Deserialize<Part>(arg)!;
        try
        {
            return [ReadAsync(part).GetAwaiter().GetResult()];
        }
        catch (Exception e) when (e is not DataException)
        {
            throw new DataReadException($"{part.Path}, row group {part.RowGroup}: cannot read: {e.Message}", e);
        }
    }

    private static async Task<RecordBatch> ReadAsync(Part part)
    {
        await using var reader = await ParquetReader.CreateAsync(part.Path).ConfigureAwait(false);
        var fields = Project(reader.Schema, part.Columns, part.Path);
        using var rg = reader.OpenRowGroupReader(part.RowGroup);
        var n = checked((int)rg.RowCount);
        var arrowFields = new List<Field>();
        var arrays = new List<IArrowArray>();
        foreach (var f in fields)
        {
            var t = f.ClrType;
            IArrowArray a;
            if (t == typeof(long)) a = f.IsNullable ? Nullable<long>(await ReadNullable<long>(rg, f, n), Int64Type.Default) : ArrayMemory.Int64(await Read<long>(rg, f, n));
            else if (t == typeof(int)) a = f.IsNullable ? Nullable<int>(await ReadNullable<int>(rg, f, n), Int32Type.Default) : ArrayMemory.Int32(await Read<int>(rg, f, n));
            else if (t == typeof(double)) a = f.IsNullable ? Nullable<double>(await ReadNullable<double>(rg, f, n), DoubleType.Default) : ArrayMemory.Double(await Read<double>(rg, f, n));
            else if (t == typeof(float)) a = f.IsNullable ? Nullable<float>(await ReadNullable<float>(rg, f, n), FloatType.Default) : ArrayMemory.Float(await Read<float>(rg, f, n));
            else if (t == typeof(bool)) a = f.IsNullable ? Nullable<bool>(await ReadNullable<bool>(rg, f, n), BooleanType.Default) : Columns.Build(BooleanType.Default, (await Read<bool>(rg, f, n)).Cast<object?>().ToArray());
            else if (t == typeof(string) || t == typeof(ReadOnlyMemory<char>))
            {
                var v = new string?[n];
                await rg.ReadAsync(f, v.AsMemory()).ConfigureAwait(false);
                a = Columns.Build(StringType.Default, v);
            }
            else if (t == typeof(byte[]) || t == typeof(ReadOnlyMemory<byte>))
            {
                var v = new byte[]?[n];
                await rg.ReadAsync(f, v.AsMemory()).ConfigureAwait(false);
                a = Columns.Build(BinaryType.Default, v);
            }
            else throw new DataReadException($"{part.Path}: column '{f.Name}' has type {t.Name}, which Ray.Data does not read yet");
            arrowFields.Add(new Field(f.Name, a.Data.DataType, f.IsNullable));
            arrays.Add(a);
        }
        return new RecordBatch(new Schema(arrowFields, null), arrays, n);
    }

    private static async Task<T[]> Read<T>(ParquetRowGroupReader rg, DataField f, int n) where T : struct
    {
        var v = new T[n];
        await rg.ReadAsync(f, v.AsMemory(), null, default).ConfigureAwait(false);
        return v;
    }

    private static async Task<T?[]> ReadNullable<T>(ParquetRowGroupReader rg, DataField f, int n) where T : struct
    {
        var v = new T?[n];
        await rg.ReadAsync(f, v.AsMemory(), null, default).ConfigureAwait(false);
        return v;
    }

    private sealed class AsyncDisposer(IAsyncDisposable d) : IDisposable
    {
        public void Dispose() => d.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    private static IArrowArray Nullable<T>(T?[] v, IArrowType type) where T : struct => Columns.Build(type, v.Select(x => (object?)x).ToArray());
}
