using System.Numerics;
using Ray.Gpu.Kernels;

namespace Ray.Gpu.Tests;

/// <summary>Inputs and plain scalar references. Values are small integers so every order of
/// floating-point reduction gives the exact same result (rings reduce in a different order).</summary>
internal static class TestData
{
    public static readonly int[] Sizes = [1, 7, 1_000_003];

    public static T[] Input<T>(int seed, int length, ReduceOp op)
        where T : unmanaged, INumber<T>
    {
        var data = new T[length];
        for (int i = 0; i < length; i++)
        {
            long v = op == ReduceOp.Product
                ? ((i * 7L) + (seed * 3L)) % 3 + 1
                : (((i * 7L) + (seed * 13L)) % 9) - 4;
            data[i] = T.CreateTruncating(v);
        }

        return data;
    }

    public static T Apply<T>(ReduceOp op, T a, T b)
        where T : unmanaged, INumber<T> => op switch
        {
            ReduceOp.Sum => a + b,
            ReduceOp.Product => a * b,
            ReduceOp.Min => a < b ? a : b,
            _ => a > b ? a : b,
        };

    public static T[] Reference<T>(ReduceOp op, IReadOnlyList<T[]> inputs)
        where T : unmanaged, INumber<T>
    {
        var result = (T[])inputs[0].Clone();
        for (int k = 1; k < inputs.Count; k++)
        {
            for (int i = 0; i < result.Length; i++)
            {
                result[i] = Apply(op, result[i], inputs[k][i]);
            }
        }

        return result;
    }

    public static void Equal<T>(T[] expected, ReadOnlySpan<T> actual)
        where T : unmanaged, INumber<T>
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            if (expected[i] != actual[i])
            {
                Assert.Fail($"Element {i} of {expected.Length}: expected {expected[i]}, got {actual[i]}.");
            }
        }
    }
}
