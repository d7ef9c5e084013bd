namespace Ray.Contract.Messages;

/// <summary>The total and used amount of one resource of a node.</summary>
/// <param name="Name">Resource name (CPU, GPU, memory, object_store_memory or a custom one).</param>
/// <param name="Total">Amount the node has.</param>
/// <param name="Used">Amount held by leases and actors now.</param>
public readonly record struct ResourceUsage(string Name, double Total, double Used);
