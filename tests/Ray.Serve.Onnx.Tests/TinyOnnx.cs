namespace Ray.Serve.Onnx.Tests;

/// <summary>The test's model: y = x · W + b, x shaped [N, 4] (written by the library's <see cref="LinearOnnx"/>).</summary>
internal static class TinyOnnx
{
    public static readonly float[,] W = { { 1, 0 }, { 0, 1 }, { 1, 1 }, { -1, 2 } };
    public static readonly float[] B = { 0.5f, -1 };

    public static float[] Expected(float[] x) => LinearOnnx.Evaluate(W, B, x);

    public static void Write(string path) => LinearOnnx.Write(path, W, B);
}
