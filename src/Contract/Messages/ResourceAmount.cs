namespace Ray.Contract.Messages;

/// <summary>A resource amount in fixed point (1/10000 unit), as on the wire.</summary>
internal readonly record struct ResourceAmount(string Name, long Units);
