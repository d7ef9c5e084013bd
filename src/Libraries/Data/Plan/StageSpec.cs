using System.Text.Json;

namespace Ray.Data.Plan;

/// <summary>One step of a fused stage, as it travels to a worker: a kind, a user function by reference, arguments.</summary>
/// <param name="Kind">Map, FlatMap, Filter, MapBatches, AddColumn, Select, Drop, Rename or Write.</param>
/// <param name="Fn">The user function's <see cref="FunctionReference"/> wire form, when the step has one.</param>
/// <param name="Args">Column names, or the sink's argument.</param>
/// <param name="BatchSize">MapBatches: rows per call (0: the whole block).</param>
internal sealed record OpSpec(string Kind, string? Fn = null, string[]? Args = null, int BatchSize = 0)
{
    public const string Map = "Map", FlatMap = "FlatMap", Filter = "Filter", MapBatches = "MapBatches", AddColumn = "AddColumn",
        Select = "Select", Drop = "Drop", Rename = "Rename", Write = "Write";

    /// <summary>A display name for stats and errors, e.g. <c>Map(Program.lambda)</c>.</summary>
    public string Display => Fn is null ? (Args is { Length: > 0 } ? $"{Kind}({string.Join(",", Args)})" : Kind) : $"{Kind}({ShortName(Fn)})";

    private static string ShortName(string fn)
    {
        var r = FunctionReference.Parse(fn);
        var type = r.TypeName.Split(',')[0];
        type = type[(type.LastIndexOf('.') + 1)..].Replace("+<>c", "");
        return r.MethodName.StartsWith('<') ? $"{type}.lambda" : $"{type}.{r.MethodName}";
    }
}

/// <summary>A chain of steps fused into one task per block (Ray fuses adjacent map operators).</summary>
internal sealed record StageSpec(OpSpec[] Ops)
{
    public static StageSpec None { get; } = new([]);

    public string ToJson() => JsonSerializer.Serialize(this);

    public static StageSpec Parse(string json) => JsonSerializer.Deserialize<StageSpec>(json) ?? None;

    public string Display => string.Join("->", Ops.Select(o => o.Display));
}

/// <summary>A read task as it travels: the source's read function by reference and its argument.</summary>
/// <param name="Fn">A <c>Func&lt;string, IEnumerable&lt;RecordBatch&gt;&gt;</c> by reference.</param>
/// <param name="Arg">Its argument (a path, a range...).</param>
/// <param name="Label">What errors and schema checks name (the file).</param>
internal sealed record ReadSpec(string Fn, string Arg, string Label)
{
    public string ToJson() => JsonSerializer.Serialize(this);

    public static ReadSpec Parse(string json) => JsonSerializer.Deserialize<ReadSpec>(json)!;
}
