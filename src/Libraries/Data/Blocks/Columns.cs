using Apache.Arrow;
using Apache.Arrow.Types;

namespace Ray.Data.Blocks;

/// <summary>
/// Column helpers over the Arrow types a block holds: Int32, Int64, Float, Double, Boolean,
/// String and Binary (each nullable). Values cross as boxed CLR values.
/// </summary>
internal static class Columns
{
    /// <summary>The value at <paramref name="i"/> (null when null).</summary>
    public static object? GetValue(IArrowArray a, int i)
    {
        if (a.IsNull(i)) return null;
        return a switch
        {
            Int64Array x => x.GetValue(i)!.Value,
            Int32Array x => x.GetValue(i)!.Value,
            DoubleArray x => x.GetValue(i)!.Value,
            FloatArray x => x.GetValue(i)!.Value,
            BooleanArray x => x.GetValue(i)!.Value,
            StringArray x => x.GetString(i),
            BinaryArray x => x.GetBytes(i).ToArray(),
            UInt8Array x => (int)x.GetValue(i)!.Value,
            Int16Array x => (int)x.GetValue(i)!.Value,
            UInt32Array x => (long)x.GetValue(i)!.Value,
            UInt64Array x => (long)x.GetValue(i)!.Value,
            TimestampArray x => x.GetTimestamp(i)!.Value.UtcDateTime,
            Date32Array x => x.GetDateTime(i)!.Value,
            _ => throw new NotSupportedException($"column type {a.Data.DataType.Name} is not supported by Ray.Data rows"),
        };
    }

    /// <summary>The Arrow type for values of CLR type <paramref name="t"/>.</summary>
    public static IArrowType TypeFor(Type t) => t switch
    {
        _ when t == typeof(long) => Int64Type.Default,
        _ when t == typeof(int) => Int32Type.Default,
        _ when t == typeof(double) => DoubleType.Default,
        _ when t == typeof(float) => FloatType.Default,
        _ when t == typeof(bool) => BooleanType.Default,
        _ when t == typeof(string) => StringType.Default,
        _ when t == typeof(byte[]) => BinaryType.Default,
        _ => throw new NotSupportedException($"values of type {t.Name} cannot be stored in a block (use long, int, double, float, bool, string or byte[])"),
    };

    /// <summary>The CLR type a column's values read as.</summary>
    public static Type ClrType(IArrowType t) => t.TypeId switch
    {
        ArrowTypeId.Int64 => typeof(long),
        ArrowTypeId.Int32 => typeof(int),
        ArrowTypeId.Double => typeof(double),
        ArrowTypeId.Float => typeof(float),
        ArrowTypeId.Boolean => typeof(bool),
        ArrowTypeId.String => typeof(string),
        ArrowTypeId.Binary => typeof(byte[]),
        _ => throw new NotSupportedException($"column type {t.Name} is not supported here"),
    };

    /// <summary>A column of <paramref name="type"/> from boxed values (nulls allowed).</summary>
    public static IArrowArray Build(IArrowType type, IReadOnlyList<object?> values)
    {
        switch (type.TypeId)
        {
            case ArrowTypeId.Int64:
            {
                var b = new Int64Array.Builder().Reserve(values.Count);
                foreach (var v in values) if (v is null) b.AppendNull(); else b.Append(Convert.ToInt64(v, System.Globalization.CultureInfo.InvariantCulture));
                return b.Build(ManagedAllocator.Instance);
            }
            case ArrowTypeId.Int32:
            {
                var b = new Int32Array.Builder().Reserve(values.Count);
                foreach (var v in values) if (v is null) b.AppendNull(); else b.Append(Convert.ToInt32(v, System.Globalization.CultureInfo.InvariantCulture));
                return b.Build(ManagedAllocator.Instance);
            }
            case ArrowTypeId.Double:
            {
                var b = new DoubleArray.Builder().Reserve(values.Count);
                foreach (var v in values) if (v is null) b.AppendNull(); else b.Append(Convert.ToDouble(v, System.Globalization.CultureInfo.InvariantCulture));
                return b.Build(ManagedAllocator.Instance);
            }
            case ArrowTypeId.Float:
            {
                var b = new FloatArray.Builder().Reserve(values.Count);
                foreach (var v in values) if (v is null) b.AppendNull(); else b.Append(Convert.ToSingle(v, System.Globalization.CultureInfo.InvariantCulture));
                return b.Build(ManagedAllocator.Instance);
            }
            case ArrowTypeId.Boolean:
            {
                var b = new BooleanArray.Builder().Reserve(values.Count);
                foreach (var v in values) if (v is null) b.AppendNull(); else b.Append((bool)v);
                return b.Build(ManagedAllocator.Instance);
            }
            case ArrowTypeId.String:
            {
                var b = new StringArray.Builder();
                foreach (var v in values) if (v is null) b.AppendNull(); else b.Append(v as string ?? Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture));
                return b.Build(ManagedAllocator.Instance);
            }
            case ArrowTypeId.Binary:
            {
                var b = new BinaryArray.Builder();
                foreach (var v in values) if (v is null) b.AppendNull(); else b.Append(((byte[])v).AsSpan());
                return b.Build(ManagedAllocator.Instance);
            }
            default: throw new NotSupportedException($"column type {type.Name} is not supported here");
        }
    }

    /// <summary>The rows at <paramref name="indices"/>, in that order (a gather).</summary>
    public static IArrowArray Take(IArrowArray a, ReadOnlySpan<int> indices)
    {
        var r = TakeCore(a, indices);
        GC.KeepAlive(a); // read through spans: a native array must not be finalized meanwhile
        return r;
    }

    private static IArrowArray TakeCore(IArrowArray a, ReadOnlySpan<int> indices)
    {
        switch (a)
        {
            case Int64Array x when x.NullCount == 0: return ArrayMemory.Int64(Gather(x.Values, indices));
            case Int32Array x when x.NullCount == 0: return ArrayMemory.Int32(Gather(x.Values, indices));
            case DoubleArray x when x.NullCount == 0: return ArrayMemory.Double(Gather(x.Values, indices));
            case FloatArray x when x.NullCount == 0: return ArrayMemory.Float(Gather(x.Values, indices));
            case StringArray x:
            {
                var b = new StringArray.Builder();
                foreach (var i in indices) if (x.IsNull(i)) b.AppendNull(); else b.Append(x.GetString(i));
                return b.Build(ManagedAllocator.Instance);
            }
            case BinaryArray x:
            {
                var b = new BinaryArray.Builder();
                foreach (var i in indices) if (x.IsNull(i)) b.AppendNull(); else b.Append(x.GetBytes(i));
                return b.Build(ManagedAllocator.Instance);
            }
            default:
            {
                var values = new object?[indices.Length];
                for (var k = 0; k < indices.Length; k++) values[k] = GetValue(a, indices[k]);
                return Build(a.Data.DataType, values);
            }
        }
    }

    private static T[] Gather<T>(ReadOnlySpan<T> values, ReadOnlySpan<int> indices)
    {
        var r = new T[indices.Length];
        for (var k = 0; k < indices.Length; k++) r[k] = values[indices[k]];
        return r;
    }

    /// <summary>Numeric column value as double (null: NaN).</summary>
    public static double AsDouble(IArrowArray a, int i) => a.IsNull(i) ? double.NaN : a switch
    {
        Int64Array x => x.Values[i],
        Int32Array x => x.Values[i],
        DoubleArray x => x.Values[i],
        FloatArray x => x.Values[i],
        _ => throw new NotSupportedException($"column type {a.Data.DataType.Name} is not numeric"),
    };

    /// <summary>True for integer column types.</summary>
    public static bool IsInteger(IArrowType t) => t.TypeId is ArrowTypeId.Int64 or ArrowTypeId.Int32 or ArrowTypeId.Int16 or ArrowTypeId.Int8 or ArrowTypeId.UInt8 or ArrowTypeId.UInt16 or ArrowTypeId.UInt32;
}
