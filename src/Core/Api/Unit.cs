namespace Ray;

/// <summary>The result of a task or actor method that returns nothing.</summary>
public readonly record struct Unit
{
    /// <summary>The only value.</summary>
    public static Unit Value => default;
}
