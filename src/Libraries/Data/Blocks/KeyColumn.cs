using System.Globalization;
using Apache.Arrow;

namespace Ray.Data.Blocks;

/// <summary>
/// A sort or group key column (Int64, Int32, Double, Float or String; nulls sort first as the
/// type's minimum). Boundaries between partitions travel as invariant strings.
/// </summary>
internal abstract class KeyColumn
{
    public static KeyColumn For(IArrowArray a) => a switch
    {
        Int64Array { NullCount: 0 } x => new Typed<long>(x.Values.ToArray(), long.Parse, v => v.ToString(CultureInfo.InvariantCulture)),
        DoubleArray { NullCount: 0 } x => new Typed<double>(x.Values.ToArray(), s => double.Parse(s, CultureInfo.InvariantCulture), v => v.ToString("R", CultureInfo.InvariantCulture)),
        Int64Array x => new Typed<long>(Read(x.Length, i => x.IsNull(i) ? long.MinValue : x.Values[i]), long.Parse, v => v.ToString(CultureInfo.InvariantCulture)),
        Int32Array x => new Typed<long>(Read(x.Length, i => x.IsNull(i) ? long.MinValue : x.Values[i]), long.Parse, v => v.ToString(CultureInfo.InvariantCulture)),
        DoubleArray x => new Typed<double>(Read(x.Length, i => x.IsNull(i) ? double.NegativeInfinity : x.Values[i]), s => double.Parse(s, CultureInfo.InvariantCulture), v => v.ToString("R", CultureInfo.InvariantCulture)),
        FloatArray x => new Typed<double>(Read(x.Length, i => x.IsNull(i) ? double.NegativeInfinity : x.Values[i]), s => double.Parse(s, CultureInfo.InvariantCulture), v => v.ToString("R", CultureInfo.InvariantCulture)),
        StringArray x => new Typed<string>(Read(x.Length, i => x.GetString(i) ?? ""), s => s, s => s, StringComparer.Ordinal),
        _ => throw new NotSupportedException($"cannot sort or group by a column of type {a.Data.DataType.Name} (use an integer, floating-point or string column)"),
    };

    private static T[] Read<T>(int n, Func<int, T> get)
    {
        var r = new T[n];
        for (var i = 0; i < n; i++) r[i] = get(i);
        return r;
    }

    public abstract int Length { get; }

    /// <summary>Row order that sorts the column (ascending, or descending).</summary>
    public abstract int[] SortIndices(bool descending);

    /// <summary>
    /// Row order that merges sorted runs: rows [starts[i], starts[i + 1]) (the last run to the
    /// end) are each sorted ascending; a k-way merge, instead of sorting again.
    /// </summary>
    public abstract int[] MergeIndices(IReadOnlyList<int> starts, bool descending);

    /// <summary>First row whose key is not less than <paramref name="boundary"/>; the column must be sorted ascending.</summary>
    public abstract int LowerBound(string boundary);

    /// <summary>The key at <paramref name="i"/> as a boundary string.</summary>
    public abstract string Format(int i);

    /// <summary>Sorts boundary strings of this key type.</summary>
    public abstract void SortBoundaries(List<string> values);

    /// <summary>
    /// Groups rows by key: the group of each row (groups numbered in ascending key order) and
    /// one row per group (its first).
    /// </summary>
    public abstract (int[] GroupOfRow, int[] FirstRow) Group();

    private sealed class Typed<T>(T[] values, Func<string, T> parse, Func<T, string> format, IComparer<T>? comparer = null) : KeyColumn where T : notnull
    {
        private readonly IComparer<T> _cmp = comparer ?? Comparer<T>.Default;

        public override int Length => values.Length;

        public override int[] SortIndices(bool descending)
        {
            var keys = (T[])values.Clone();
            var idx = new int[keys.Length];
            for (var i = 0; i < idx.Length; i++) idx[i] = i;
            System.Array.Sort(keys, idx, _cmp);
            if (descending) System.Array.Reverse(idx);
            return idx;
        }

        public override int[] MergeIndices(IReadOnlyList<int> starts, bool descending)
        {
            var n = values.Length;
            var k = starts.Count;
            var pos = new int[k];
            var end = new int[k];
            var queue = new PriorityQueue<int, T>(k, _cmp);
            for (var p = 0; p < k; p++)
            {
                pos[p] = starts[p];
                end[p] = p + 1 < k ? starts[p + 1] : n;
                if (pos[p] < end[p]) queue.Enqueue(p, values[pos[p]]);
            }
            var idx = new int[n];
            for (var o = 0; o < n; o++)
            {
                var p = queue.Peek();
                idx[o] = pos[p]++;
                if (pos[p] < end[p]) queue.DequeueEnqueue(p, values[pos[p]]);
                else queue.Dequeue();
            }
            if (descending) System.Array.Reverse(idx);
            return idx;
        }

        public override int LowerBound(string boundary)
        {
            var b = parse(boundary);
            int lo = 0, hi = values.Length;
            while (lo < hi)
            {
                var mid = (lo + hi) >>> 1;
                if (_cmp.Compare(values[mid], b) < 0) lo = mid + 1; else hi = mid;
            }
            return lo;
        }

        public override string Format(int i) => format(values[i]);

        public override void SortBoundaries(List<string> v)
        {
            var parsed = v.Select(parse).ToArray();
            System.Array.Sort(parsed, _cmp);
            v.Clear();
            v.AddRange(parsed.Select(format));
        }

        public override (int[] GroupOfRow, int[] FirstRow) Group()
        {
            var ids = new Dictionary<T, int>(EqualityComparer<T>.Default);
            var group = new int[values.Length];
            var first = new List<int>();
            for (var i = 0; i < values.Length; i++)
            {
                ref var slot = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(ids, values[i], out var exists);
                if (!exists) { slot = first.Count; first.Add(i); }
                group[i] = slot;
            }
            // Renumber groups in key order.
            var keys = first.Select(r => values[r]).ToArray();
            var order = new int[keys.Length];
            for (var i = 0; i < order.Length; i++) order[i] = i;
            System.Array.Sort(keys, order, _cmp);
            var rank = new int[order.Length];
            for (var i = 0; i < order.Length; i++) rank[order[i]] = i;
            for (var i = 0; i < group.Length; i++) group[i] = rank[group[i]];
            var firstSorted = new int[order.Length];
            for (var i = 0; i < order.Length; i++) firstSorted[i] = first[order[i]];
            return (group, firstSorted);
        }
    }
}
