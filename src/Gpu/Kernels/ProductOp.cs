namespace Ray.Gpu.Kernels;

/// <summary>Element-wise product for every supported element type.</summary>
public readonly struct ProductOp : IReduceOp<float>, IReduceOp<double>, IReduceOp<int>, IReduceOp<long>, IReduceOp<ILGPU.Half>
{
    /// <inheritdoc />
    public float Apply(float left, float right) => left * right;

    /// <inheritdoc />
    public double Apply(double left, double right) => left * right;

    /// <inheritdoc />
    public int Apply(int left, int right) => unchecked(left * right);

    /// <inheritdoc />
    public long Apply(long left, long right) => unchecked(left * right);

    /// <inheritdoc />
    public ILGPU.Half Apply(ILGPU.Half left, ILGPU.Half right) => left * right;
}
