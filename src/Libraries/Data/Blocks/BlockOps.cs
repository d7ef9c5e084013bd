using Apache.Arrow;

namespace Ray.Data.Blocks;

/// <summary>Whole-block operations: rows in and out, concatenation, column selection.</summary>
internal static class BlockOps
{
    /// <summary>An empty block with no columns (what a map that returned nothing produces).</summary>
    public static RecordBatch Empty { get; } = new(new Schema([], null), [], 0);

    /// <summary>The block's rows as <see cref="Row"/> values (copied out).</summary>
    public static IEnumerable<Row> Rows(RecordBatch b)
    {
        var names = b.Schema.FieldsList.Select(f => f.Name).ToArray();
        var arrays = b.Arrays.ToArray();
        for (var i = 0; i < b.Length; i++)
        {
            var values = new List<object?>(arrays.Length);
            foreach (var a in arrays) values.Add(Columns.GetValue(a, i));
            yield return new Row([.. names], values);
        }
    }

    /// <summary>A block from rows; column types come from the values (ints widen to long, numbers to double when mixed).</summary>
    /// <exception cref="InvalidOperationException">A column mixes values that do not widen (e.g. string and long).</exception>
    public static RecordBatch FromRows(IReadOnlyList<IReadOnlyDictionary<string, object?>> rows)
    {
        if (rows.Count == 0) return Empty;
        var names = new List<string>();
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var r in rows)
            foreach (var k in r.Keys)
                if (!index.ContainsKey(k)) { index[k] = names.Count; names.Add(k); }
        var fields = new List<Field>(names.Count);
        var arrays = new List<IArrowArray>(names.Count);
        var column = new object?[rows.Count];
        foreach (var name in names)
        {
            Type? type = null;
            for (var i = 0; i < rows.Count; i++)
            {
                var v = rows[i].TryGetValue(name, out var x) ? x : null;
                column[i] = v;
                if (v is not null) type = Widen(type, v.GetType(), name);
            }
            var arrowType = Columns.TypeFor(type ?? typeof(string));
            fields.Add(new Field(name, arrowType, nullable: true));
            arrays.Add(Columns.Build(arrowType, column));
        }
        return new RecordBatch(new Schema(fields, null), arrays, rows.Count);
    }

    private static Type Widen(Type? have, Type next, string column)
    {
        if (next == typeof(short) || next == typeof(byte) || next == typeof(sbyte) || next == typeof(ushort)) next = typeof(int);
        if (next == typeof(uint) || next == typeof(ulong)) next = typeof(long);
        if (have is null || have == next) return next;
        static int Rank(Type t) => t == typeof(int) ? 1 : t == typeof(long) ? 2 : t == typeof(float) ? 3 : t == typeof(double) ? 4 : 0;
        var (a, b) = (Rank(have), Rank(next));
        if (a > 0 && b > 0) return a >= b ? (a == 3 && b == 2 ? typeof(double) : have) : (b == 3 && a == 2 ? typeof(double) : next);
        throw new InvalidOperationException($"column '{column}' holds both {have.Name} and {next.Name} values");
    }

    /// <summary>One block of all of <paramref name="blocks"/>' rows (empty and column-less blocks skipped).</summary>
    /// <exception cref="DataSchemaException">The blocks' schemas differ.</exception>
    public static RecordBatch Concat(IReadOnlyList<RecordBatch> blocks)
    {
        var parts = blocks.Where(b => b.Length > 0 && b.ColumnCount > 0).ToList();
        if (parts.Count == 0) return blocks.FirstOrDefault(b => b.ColumnCount > 0) ?? Empty;
        if (parts.Count == 1) return parts[0];
        var schema = parts[0].Schema;
        foreach (var p in parts) CheckSameSchema(schema, p.Schema, "concatenating blocks");
        var arrays = new IArrowArray[schema.FieldsList.Count];
        for (var c = 0; c < arrays.Length; c++)
            arrays[c] = ArrowArrayConcatenator.Concatenate(parts.Select(p => p.Column(c)).ToList(), ManagedAllocator.Instance);
        return new RecordBatch(schema, arrays, parts.Sum(p => p.Length));
    }

    /// <summary>Throws when <paramref name="b"/> differs from <paramref name="a"/> in column names or types.</summary>
    public static void CheckSameSchema(Schema a, Schema b, string where)
    {
        if (!SameSchema(a, b))
            throw new DataSchemaException($"schema mismatch {where}: ({Describe(a)}) vs ({Describe(b)})");
    }

    /// <summary>Same column names and types in the same order.</summary>
    public static bool SameSchema(Schema a, Schema b) =>
        a.FieldsList.Count == b.FieldsList.Count &&
        a.FieldsList.Zip(b.FieldsList).All(p => p.First.Name == p.Second.Name && p.First.DataType.TypeId == p.Second.DataType.TypeId);

    /// <summary><c>a: int64, b: string</c>.</summary>
    public static string Describe(Schema s) => string.Join(", ", s.FieldsList.Select(f => $"{f.Name}: {f.DataType.Name}"));

    /// <summary>The block with only <paramref name="names"/>, in that order.</summary>
    public static RecordBatch Select(RecordBatch b, IReadOnlyList<string> names)
    {
        var fields = new List<Field>();
        var arrays = new List<IArrowArray>();
        foreach (var n in names)
        {
            var i = IndexOf(b, n);
            fields.Add(b.Schema.GetFieldByIndex(i));
            arrays.Add(b.Column(i));
        }
        return new RecordBatch(new Schema(fields, null), arrays, b.Length);
    }

    /// <summary>The block without <paramref name="names"/>.</summary>
    public static RecordBatch Drop(RecordBatch b, IReadOnlyList<string> names)
    {
        foreach (var n in names) IndexOf(b, n);
        return Select(b, b.Schema.FieldsList.Select(f => f.Name).Where(n => !names.Contains(n)).ToList());
    }

    /// <summary>The block with columns renamed (old name, new name pairs).</summary>
    public static RecordBatch Rename(RecordBatch b, IReadOnlyList<string> pairs)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i + 1 < pairs.Count; i += 2) { IndexOf(b, pairs[i]); map[pairs[i]] = pairs[i + 1]; }
        var fields = b.Schema.FieldsList.Select(f => map.TryGetValue(f.Name, out var n) ? new Field(n, f.DataType, f.IsNullable) : f).ToList();
        return new RecordBatch(new Schema(fields, null), b.Arrays, b.Length);
    }

    /// <summary>The block with column <paramref name="name"/> set (replaced, or added at the end).</summary>
    public static RecordBatch WithColumn(RecordBatch b, string name, IArrowArray column)
    {
        if (column.Length != b.Length)
            throw new InvalidOperationException($"column '{name}' has {column.Length} values, the block {b.Length} rows");
        var fields = b.Schema.FieldsList.ToList();
        var arrays = b.Arrays.ToList();
        var field = new Field(name, column.Data.DataType, true);
        var i = fields.FindIndex(f => f.Name == name);
        if (i >= 0) { fields[i] = field; arrays[i] = column; }
        else { fields.Add(field); arrays.Add(column); }
        return new RecordBatch(new Schema(fields, null), arrays, b.Length);
    }

    /// <summary>The rows at <paramref name="indices"/>.</summary>
    public static RecordBatch Take(RecordBatch b, ReadOnlySpan<int> indices)
    {
        var arrays = new IArrowArray[b.ColumnCount];
        for (var c = 0; c < arrays.Length; c++) arrays[c] = Columns.Take(b.Column(c), indices);
        return new RecordBatch(b.Schema, arrays, indices.Length);
    }

    /// <summary>Index of column <paramref name="name"/>.</summary>
    /// <exception cref="KeyNotFoundException">No such column.</exception>
    public static int IndexOf(RecordBatch b, string name)
    {
        var i = b.Schema.GetFieldIndex(name, StringComparer.Ordinal);
        return i >= 0 ? i : throw new KeyNotFoundException($"no column '{name}' in the block (columns: {Describe(b.Schema)})");
    }
}
