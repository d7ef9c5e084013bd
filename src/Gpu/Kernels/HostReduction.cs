using System.Numerics;
using System.Numerics.Tensors;

namespace Ray.Gpu.Kernels;

/// <summary>
/// The CPU path for host arrays: vectorised element-wise reductions over
/// <see cref="TensorPrimitives"/> (SIMD through <see cref="Vector{T}"/>), never scalar loops.
/// </summary>
public static class HostReduction
{
    /// <summary><c>destination[i] = op(x[i], y[i])</c>; <paramref name="destination"/> may be <paramref name="x"/> or <paramref name="y"/>.</summary>
    public static void Combine<T>(ReduceOp op, ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> destination)
        where T : unmanaged, INumber<T>
    {
        switch (op)
        {
            case ReduceOp.Sum:
                TensorPrimitives.Add(x, y, destination);
                break;
            case ReduceOp.Product:
                TensorPrimitives.Multiply(x, y, destination);
                break;
            case ReduceOp.Min:
                TensorPrimitives.Min(x, y, destination);
                break;
            case ReduceOp.Max:
                TensorPrimitives.Max(x, y, destination);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(op), op, "Unknown reduce op.");
        }
    }

    /// <summary><c>accumulator[i] = op(accumulator[i], source[i])</c>.</summary>
    public static void Accumulate<T>(ReduceOp op, Span<T> accumulator, ReadOnlySpan<T> source)
        where T : unmanaged, INumber<T> =>
        Combine(op, accumulator, source, accumulator);

    /// <summary>Reduces every input into <paramref name="output"/>, in input order.</summary>
    public static void Reduce<T>(ReduceOp op, IReadOnlyList<ReadOnlyMemory<T>> inputs, Span<T> output)
        where T : unmanaged, INumber<T>
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentOutOfRangeException.ThrowIfZero(inputs.Count);
        inputs[0].Span.CopyTo(output);
        for (int k = 1; k < inputs.Count; k++)
        {
            Accumulate(op, output, inputs[k].Span);
        }
    }
}
