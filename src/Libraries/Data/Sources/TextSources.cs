using System.Globalization;
using System.Text;
using System.Text.Json;
using Apache.Arrow;
using Apache.Arrow.Types;
using Ray.Data.Blocks;

namespace Ray.Data.Sources;

/// <summary>CSV, JSON lines, text and binary files: one read task per file.</summary>
internal static class TextSources
{
    internal sealed record CsvArgs(string Path, char Delimiter, Dictionary<string, string>? Types);

    public static List<ReadTask> PlanCsv(IEnumerable<string> paths, char delimiter, IReadOnlyDictionary<string, Type>? types) =>
        FilePaths.Expand(paths).Select(f => new ReadTask(ReadCsv,
            JsonSerializer.Serialize(new CsvArgs(f, delimiter, types?.ToDictionary(p => p.Key, p => Columns.TypeFor(p.Value).Name))), f)).ToList();

    public static List<ReadTask> PlanPerFile(IEnumerable<string> paths, Func<string, IEnumerable<RecordBatch>> read) =>
        FilePaths.Expand(paths).Select(f => new ReadTask(read, f, f)).ToList();

    /// <summary>Reads a CSV file with a header row; column types are inferred (int64, double, bool, else string) unless declared.</summary>
    public static IEnumerable<RecordBatch> ReadCsv(string arg)
    {
        var a = JsonSerializer.Deserialize<CsvArgs>(arg)!;
        using var reader = new StreamReader(a.Path, Encoding.UTF8);
        var header = reader.ReadLine() ?? throw new DataReadException($"{a.Path}: empty file (a CSV file starts with a header row)");
        var names = SplitCsv(header, a.Delimiter, a.Path, 1);
        var cells = names.Select(_ => new List<string?>()).ToArray();
        var lineNo = 1;
        var rowLines = new List<int>();
        while (reader.ReadLine() is { } line)
        {
            lineNo++;
            if (line.Length == 0) continue;
            var f = SplitCsv(line, a.Delimiter, a.Path, lineNo);
            if (f.Count != names.Count)
                throw new DataReadException($"{a.Path} line {lineNo}: expected {names.Count} fields ({string.Join(",", names)}), found {f.Count}: '{line}'");
            rowLines.Add(lineNo);
            for (var c = 0; c < f.Count; c++) cells[c].Add(f[c].Length == 0 ? null : f[c]);
        }
        var fields = new List<Field>();
        var arrays = new List<IArrowArray>();
        for (var c = 0; c < names.Count; c++)
        {
            var declared = a.Types is not null && a.Types.TryGetValue(names[c], out var tn) ? tn : null;
            var type = declared is not null ? FromName(declared) : Infer(cells[c]);
            var values = new object?[cells[c].Count];
            for (var r = 0; r < values.Length; r++)
            {
                var s = cells[c][r];
                if (s is null) continue;
                values[r] = Parse(s, type) ?? throw new DataReadException($"{a.Path} line {rowLines[r]}, column '{names[c]}': cannot parse '{s}' as {type.Name}");
            }
            fields.Add(new Field(names[c], type, true));
            arrays.Add(Columns.Build(type, values));
        }
        yield return new RecordBatch(new Schema(fields, null), arrays, cells.Length == 0 ? 0 : cells[0].Count);
    }

    private static IArrowType FromName(string name) => name switch
    {
        "int64" => Int64Type.Default,
        "int32" => Int32Type.Default,
        "double" => DoubleType.Default,
        "float" => FloatType.Default,
        "bool" or "boolean" => BooleanType.Default,
        "utf8" or "string" => StringType.Default,
        _ => throw new NotSupportedException($"CSV column type {name}"),
    };

    private static IArrowType Infer(List<string?> values)
    {
        bool isLong = true, isDouble = true, isBool = true, any = false;
        foreach (var v in values)
        {
            if (v is null) continue;
            any = true;
            if (isLong && !long.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out _)) isLong = false;
            if (isDouble && !double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out _)) isDouble = false;
            if (isBool && !bool.TryParse(v, out _)) isBool = false;
        }
        return !any ? StringType.Default : isLong ? Int64Type.Default : isDouble ? DoubleType.Default : isBool ? BooleanType.Default : StringType.Default;
    }

    private static object? Parse(string s, IArrowType t) => t.TypeId switch
    {
        ArrowTypeId.Int64 => long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var l) ? l : null,
        ArrowTypeId.Int32 => int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i) ? i : null,
        ArrowTypeId.Double => double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : null,
        ArrowTypeId.Float => float.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var f) ? f : null,
        ArrowTypeId.Boolean => bool.TryParse(s, out var b) ? b : null,
        _ => s,
    };

    /// <summary>Splits one CSV line (RFC 4180 quotes, no line breaks inside quotes).</summary>
    internal static List<string> SplitCsv(string line, char delimiter, string path, int lineNo)
    {
        var fields = new List<string>();
        var sb = new StringBuilder();
        var quoted = false;
        for (var i = 0; i < line.Length; i++)
        {
            var ch = line[i];
            if (quoted)
            {
                if (ch == '"')
                {
                    if (i + 1 < line.Length && line[i + 1] == '"') { sb.Append('"'); i++; }
                    else quoted = false;
                }
                else sb.Append(ch);
            }
            else if (ch == '"' && sb.Length == 0) quoted = true;
            else if (ch == delimiter) { fields.Add(sb.ToString()); sb.Clear(); }
            else sb.Append(ch);
        }
        if (quoted) throw new DataReadException($"{path} line {lineNo}: unterminated quote: '{line}'");
        fields.Add(sb.ToString());
        return fields;
    }

    /// <summary>Reads a JSON-lines file: one object per line; numbers are int64 when integral in every row, else double.</summary>
    public static IEnumerable<RecordBatch> ReadJson(string path)
    {
        var rows = new List<IReadOnlyDictionary<string, object?>>();
        var lineNo = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNo++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            JsonDocument doc;
            try { doc = JsonDocument.Parse(line); }
            catch (JsonException e) { throw new DataReadException($"{path} line {lineNo}: invalid JSON: {e.Message}"); }
            using (doc)
            {
                if (doc.RootElement.ValueKind != JsonValueKind.Object)
                    throw new DataReadException($"{path} line {lineNo}: expected a JSON object, found {doc.RootElement.ValueKind}");
                var row = new Row();
                foreach (var p in doc.RootElement.EnumerateObject())
                    row[p.Name] = p.Value.ValueKind switch
                    {
                        JsonValueKind.Number => p.Value.TryGetInt64(out var l) ? l : p.Value.GetDouble(),
                        JsonValueKind.String => p.Value.GetString(),
                        JsonValueKind.True => true,
                        JsonValueKind.False => false,
                        JsonValueKind.Null => null,
                        _ => p.Value.GetRawText(),
                    };
                rows.Add(row);
            }
        }
        try { return [BlockOps.FromRows(rows)]; }
        catch (InvalidOperationException e) { throw new DataReadException($"{path}: {e.Message}"); }
    }

    /// <summary>Reads a text file: one row per line, column "text".</summary>
    public static IEnumerable<RecordBatch> ReadText(string path)
    {
        var b = new StringArray.Builder();
        foreach (var line in File.ReadLines(path)) b.Append(line);
        var a = b.Build(ManagedAllocator.Instance);
        return [new RecordBatch(new Schema([new Field("text", StringType.Default, false)], null), [a], a.Length)];
    }

    /// <summary>Reads a whole file: one row, columns "path" and "bytes".</summary>
    public static IEnumerable<RecordBatch> ReadBinary(string path)
    {
        var bytes = File.ReadAllBytes(path);
        return [new RecordBatch(new Schema([new Field("path", StringType.Default, false), new Field("bytes", BinaryType.Default, false)], null),
            [new StringArray.Builder().Append(path).Build(ManagedAllocator.Instance), new BinaryArray.Builder().Append(bytes.AsSpan()).Build(ManagedAllocator.Instance)], 1)];
    }

    /// <summary>Rows [start, start + count) of column "id" (Range's read task).</summary>
    public static IEnumerable<RecordBatch> ReadRange(string arg)
    {
        var parts = arg.Split(',');
        var start = long.Parse(parts[0], CultureInfo.InvariantCulture);
        var count = int.Parse(parts[1], CultureInfo.InvariantCulture);
        var v = new long[count];
        for (var i = 0; i < count; i++) v[i] = start + i;
        return [new RecordBatch(new Schema([new Field("id", Int64Type.Default, false)], null), [ArrayMemory.Int64(v)], count)];
    }
}
