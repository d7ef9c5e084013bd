using Apache.Arrow;
using Apache.Arrow.Types;
using Ray.Data.Blocks;

namespace Ray.Data.Execution;

/// <summary>
/// Group-by aggregation in two phases: a partial state per group and block (count, sum,
/// min, max, and Chan's mean/M2 for std), then the states of each key merged and finished.
/// </summary>
internal static class Aggregation
{
    /// <summary>Partial states of one block, one row per key, sorted by key.</summary>
    public static RecordBatch Partial(RecordBatch b, string keyName, AggSpec[] aggs)
    {
        var (group, g, fields, arrays) = Grouped(b, keyName);
        for (var j = 0; j < aggs.Length; j++)
        {
            var a = aggs[j];
            var count = new long[g];
            if (a.Kind == "count")
            {
                foreach (var x in group) count[x]++;
                Add(fields, arrays, $"c{j}", count);
                continue;
            }
            var col = b.Column(BlockOps.IndexOf(b, a.Column!));
            var values = Doubles(col); // one typed pass; the loop below reads an array
            var sum = new double[g];
            var min = Fill(g, double.PositiveInfinity);
            var max = Fill(g, double.NegativeInfinity);
            var mean = new double[g];
            var m2 = new double[g];
            var hasNulls = col.NullCount > 0;
            if (a.Kind == "std")
            {
                for (var i = 0; i < group.Length; i++)
                {
                    var v = values[i];
                    if (hasNulls && col.IsNull(i)) continue;
                    var k = group[i];
                    count[k]++;
                    sum[k] += v;
                    var d = v - mean[k]; // Welford, per group
                    mean[k] += d / count[k];
                    m2[k] += d * (v - mean[k]);
                }
            }
            else
            {
                // count, sum, min and max only: no division per row. (mean = sum / count when finished.)
                for (var i = 0; i < group.Length; i++)
                {
                    var v = values[i];
                    if (hasNulls && col.IsNull(i)) continue;
                    var k = group[i];
                    count[k]++;
                    sum[k] += v;
                    if (v < min[k]) min[k] = v;
                    if (v > max[k]) max[k] = v;
                }
                for (var k = 0; k < g; k++) mean[k] = count[k] > 0 ? sum[k] / count[k] : 0;
            }
            Add(fields, arrays, $"c{j}", count);
            Add(fields, arrays, $"s{j}", sum);
            Add(fields, arrays, $"lo{j}", min);
            Add(fields, arrays, $"hi{j}", max);
            Add(fields, arrays, $"mu{j}", mean);
            Add(fields, arrays, $"m2{j}", m2);
        }
        return new RecordBatch(new Schema(fields, null), arrays, g);
    }

    // Each row's group (groups sorted by key), their count, and the output's key column (one row per group) to add the aggregates to.
    private static (int[] Group, int Groups, List<Field> Fields, List<IArrowArray> Arrays) Grouped(RecordBatch b, string keyName)
    {
        var keyIndex = BlockOps.IndexOf(b, keyName);
        var (group, first) = KeyColumn.For(b.Column(keyIndex)).Group();
        return (group, first.Length, [b.Schema.GetFieldByIndex(keyIndex)], [Columns.Take(b.Column(keyIndex), first)]);
    }

    /// <summary>Merges partial states (any order, keys repeated) into the final columns, sorted by key.</summary>
    public static RecordBatch Final(RecordBatch partials, string keyName, AggSpec[] aggs)
    {
        var (group, g, fields, arrays) = Grouped(partials, keyName);
        for (var j = 0; j < aggs.Length; j++)
        {
            var a = aggs[j];
            var c = ((Int64Array)partials.Column($"c{j}")).Values;
            var count = new long[g];
            if (a.Kind == "count")
            {
                for (var i = 0; i < group.Length; i++) count[group[i]] += c[i];
                Add(fields, arrays, a.OutputName, count);
                continue;
            }
            var s = ((DoubleArray)partials.Column($"s{j}")).Values;
            var lo = ((DoubleArray)partials.Column($"lo{j}")).Values;
            var hi = ((DoubleArray)partials.Column($"hi{j}")).Values;
            var mu = ((DoubleArray)partials.Column($"mu{j}")).Values;
            var m2p = ((DoubleArray)partials.Column($"m2{j}")).Values;
            var sum = new double[g];
            var min = Fill(g, double.PositiveInfinity);
            var max = Fill(g, double.NegativeInfinity);
            var mean = new double[g];
            var m2 = new double[g];
            for (var i = 0; i < group.Length; i++)
            {
                if (c[i] == 0) continue;
                var k = group[i];
                var n = count[k] + c[i];
                var d = mu[i] - mean[k]; // Chan et al.: merge two (count, mean, M2) states
                m2[k] += m2p[i] + d * d * count[k] * c[i] / n;
                mean[k] += d * c[i] / n;
                count[k] = n;
                sum[k] += s[i];
                if (lo[i] < min[k]) min[k] = lo[i];
                if (hi[i] > max[k]) max[k] = hi[i];
            }
            switch (a.Kind)
            {
                case "sum": AddNumber(fields, arrays, a, sum, count, a.Integer); break;
                case "min": AddNumber(fields, arrays, a, min, count, a.Integer); break;
                case "max": AddNumber(fields, arrays, a, max, count, a.Integer); break;
                case "mean": AddNumber(fields, arrays, a, mean, count, false); break;
                case "std":
                    var std = new double[g];
                    for (var k = 0; k < g; k++) std[k] = count[k] > 1 ? Math.Sqrt(m2[k] / (count[k] - 1)) : double.NaN; // ddof = 1, as Ray
                    AddNumber(fields, arrays, a, std, count, false);
                    break;
                default: throw new NotSupportedException($"aggregation {a.Kind}");
            }
        }
        return new RecordBatch(new Schema(fields, null), arrays, g);
    }

    // The column as doubles (nulls as NaN).
    private static double[] Doubles(IArrowArray col)
    {
        var r = new double[col.Length];
        switch (col)
        {
            case DoubleArray { NullCount: 0 } d: d.Values.CopyTo(r); break;
            case Int64Array { NullCount: 0 } l:
            {
                var s = l.Values;
                for (var i = 0; i < r.Length; i++) r[i] = s[i];
                break;
            }
            default:
                for (var i = 0; i < r.Length; i++) r[i] = Columns.AsDouble(col, i);
                break;
        }
        GC.KeepAlive(col);
        return r;
    }

    private static double[] Fill(int n, double v)
    {
        var r = new double[n];
        System.Array.Fill(r, v);
        return r;
    }

    private static void Add(List<Field> f, List<IArrowArray> a, string name, long[] v)
    {
        f.Add(new Field(name, Int64Type.Default, false));
        a.Add(new Int64Array.Builder().AppendRange(v).Build(ManagedAllocator.Instance));
    }

    private static void Add(List<Field> f, List<IArrowArray> a, string name, double[] v)
    {
        f.Add(new Field(name, DoubleType.Default, false));
        a.Add(new DoubleArray.Builder().AppendRange(v).Build(ManagedAllocator.Instance));
    }

    // A group whose column held only nulls gets a null.
    private static void AddNumber(List<Field> f, List<IArrowArray> a, AggSpec spec, double[] v, long[] count, bool integer)
    {
        if (integer)
        {
            var b = new Int64Array.Builder().Reserve(v.Length);
            for (var i = 0; i < v.Length; i++) if (count[i] == 0) b.AppendNull(); else b.Append((long)v[i]);
            f.Add(new Field(spec.OutputName, Int64Type.Default, true));
            a.Add(b.Build(ManagedAllocator.Instance));
        }
        else
        {
            var b = new DoubleArray.Builder().Reserve(v.Length);
            for (var i = 0; i < v.Length; i++) if (count[i] == 0) b.AppendNull(); else b.Append(v[i]);
            f.Add(new Field(spec.OutputName, DoubleType.Default, true));
            a.Add(b.Build(ManagedAllocator.Instance));
        }
    }
}
