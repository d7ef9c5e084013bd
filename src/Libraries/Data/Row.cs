using System.Collections;
using System.Globalization;

namespace Ray.Data;

/// <summary>
/// One row of a dataset: named column values in column order (Ray's row dict). Values are
/// <see cref="long"/>, <see cref="int"/>, <see cref="double"/>, <see cref="float"/>,
/// <see cref="bool"/>, <see cref="string"/>, <c>byte[]</c> or null. A row handed to a
/// <c>Map</c> function is the function's to change and return.
/// </summary>
public sealed class Row : IReadOnlyDictionary<string, object?>
{
    private readonly List<string> _names;
    private readonly List<object?> _values;

    /// <summary>An empty row; add columns with the indexer or <see cref="With"/>.</summary>
    public Row()
    {
        _names = [];
        _values = [];
    }

    internal Row(List<string> names, List<object?> values)
    {
        _names = names;
        _values = values;
    }

    /// <summary>A row of these (name, value) pairs.</summary>
    public static Row Of(params (string Name, object? Value)[] columns)
    {
        var r = new Row();
        foreach (var (n, v) in columns) r[n] = v;
        return r;
    }

    /// <summary>The value of column <paramref name="name"/>; setting adds the column when it is new.</summary>
    /// <exception cref="KeyNotFoundException">No such column (get).</exception>
    public object? this[string name]
    {
        get
        {
            var i = _names.IndexOf(name);
            return i >= 0 ? _values[i] : throw new KeyNotFoundException($"row has no column '{name}' (columns: {string.Join(", ", _names)})");
        }
        set
        {
            var i = _names.IndexOf(name);
            if (i >= 0) _values[i] = value;
            else
            {
                _names.Add(name);
                _values.Add(value);
            }
        }
    }

    /// <summary>Sets column <paramref name="name"/> and returns this row, for <c>r =&gt; r.With("y", 2)</c>.</summary>
    public Row With(string name, object? value)
    {
        this[name] = value;
        return this;
    }

    /// <summary>The value of <paramref name="name"/> converted to <typeparamref name="T"/> (numbers widen or narrow as <see cref="Convert"/> does).</summary>
    public T Get<T>(string name)
    {
        var v = this[name];
        if (v is T t) return t;
        if (v is null) return default!;
        var target = Nullable.GetUnderlyingType(typeof(T)) ?? typeof(T);
        return (T)Convert.ChangeType(v, target, CultureInfo.InvariantCulture);
    }

    /// <summary>Column names in order.</summary>
    public IEnumerable<string> Keys => _names;

    /// <summary>Values in column order.</summary>
    public IEnumerable<object?> Values => _values;

    /// <summary>Number of columns.</summary>
    public int Count => _names.Count;

    /// <inheritdoc />
    public bool ContainsKey(string key) => _names.Contains(key);

    /// <inheritdoc />
    public bool TryGetValue(string key, out object? value)
    {
        var i = _names.IndexOf(key);
        value = i >= 0 ? _values[i] : null;
        return i >= 0;
    }

    /// <inheritdoc />
    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
    {
        for (var i = 0; i < _names.Count; i++) yield return new(_names[i], _values[i]);
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary><c>{a: 1, b: x}</c>.</summary>
    public override string ToString() =>
        "{" + string.Join(", ", _names.Select((n, i) => $"{n}: {Format(_values[i])}")) + "}";

    internal static string Format(object? v) => v switch
    {
        null => "null",
        byte[] b => $"<{b.Length} bytes>",
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        float f => f.ToString("R", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => v.ToString() ?? "",
    };
}
