namespace Ray.Gpu.Collectives;

/// <summary>How the ranks of a group that live in different processes exchange data.</summary>
public enum CollectiveTransport
{
    /// <summary>Rings in a shared-memory segment: ranks in processes on one node (fastest there).</summary>
    SharedMemory = 0,

    /// <summary>Framed TCP connections between every pair of ranks: ranks on different nodes.</summary>
    Tcp = 1,
}
