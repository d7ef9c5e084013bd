namespace Ray.Gpu.Kernels;

/// <summary>
/// Launch geometry of a reduction: thread <c>t</c> visits elements <c>t*First + j*Step</c> for
/// <c>j &lt; PerThread</c>, stopping at <c>Length</c>. Contiguous chunks (Step = 1) suit the CPU
/// accelerator; a grid-stride loop (First = 1, Step = threads) keeps GPU loads coalesced.
/// </summary>
public struct ReduceShape
{
    /// <summary>Number of packed input buffers.</summary>
    public int Count;

    /// <summary>Elements per buffer.</summary>
    public long Length;

    /// <summary>Distance between the first elements of consecutive threads.</summary>
    public long First;

    /// <summary>Distance between consecutive elements of one thread.</summary>
    public long Step;

    /// <summary>Maximum elements one thread visits.</summary>
    public long PerThread;
}
