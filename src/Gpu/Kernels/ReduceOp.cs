namespace Ray.Gpu.Kernels;

/// <summary>Element-wise reduction operator of a collective (as ray.util.collective's ReduceOp).</summary>
public enum ReduceOp
{
    /// <summary>Element-wise sum.</summary>
    Sum = 0,

    /// <summary>Element-wise product.</summary>
    Product = 1,

    /// <summary>Element-wise minimum.</summary>
    Min = 2,

    /// <summary>Element-wise maximum.</summary>
    Max = 3,
}
