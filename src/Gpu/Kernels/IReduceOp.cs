namespace Ray.Gpu.Kernels;

/// <summary>
/// A binary reduction operator used as a struct generic argument, so kernels specialise on it at
/// zero cost (ILGPU inlines <c>default(TOp).Apply</c>).
/// </summary>
/// <typeparam name="T">Element type.</typeparam>
public interface IReduceOp<T>
    where T : unmanaged
{
    /// <summary>Combines two elements.</summary>
    T Apply(T left, T right);
}
