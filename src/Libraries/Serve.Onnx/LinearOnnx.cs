using System.Text;

namespace Ray.Serve.Onnx;

/// <summary>
/// Writes a linear ONNX model, y = x · W + b (x shaped [N, inputs], W [inputs, outputs], b
/// [outputs]), as protobuf by hand: a model to serve in demos and tests without a training
/// toolchain. <see cref="OnnxModel"/> serves it.
/// </summary>
public static class LinearOnnx
{
    /// <summary>What the model computes for one row (the reference for its answers).</summary>
    public static float[] Evaluate(float[,] weights, float[] bias, float[] x) =>
        Enumerable.Range(0, weights.GetLength(1)).Select(j => Enumerable.Range(0, weights.GetLength(0)).Sum(i => x[i] * weights[i, j]) + bias[j]).ToArray();

    /// <summary>Writes the model to <paramref name="path"/>.</summary>
    /// <exception cref="ArgumentException">The bias's length is not the weights' column count.</exception>
    public static void Write(string path, float[,] weights, float[] bias)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(bias);
        int inputs = weights.GetLength(0), outputs = weights.GetLength(1);
        if (bias.Length != outputs) throw new ArgumentException($"{outputs} outputs need {outputs} biases, not {bias.Length}", nameof(bias));
        var w = new float[inputs * outputs];
        for (var i = 0; i < inputs; i++) for (var j = 0; j < outputs; j++) w[i * outputs + j] = weights[i, j];
        var graph = Concat(
            Message(1, Concat(Str(1, "x"), Str(1, "W"), Str(2, "xw"), Str(4, "MatMul"))),
            Message(1, Concat(Str(1, "xw"), Str(1, "b"), Str(2, "y"), Str(4, "Add"))),
            Str(2, "tiny"),
            Message(5, Tensor("W", [inputs, outputs], w)),
            Message(5, Tensor("b", [outputs], bias)),
            Message(11, ValueInfo("x", inputs)),
            Message(12, ValueInfo("y", outputs)));
        var model = Concat(Varint(1, 8), Message(8, Concat(Str(1, ""), Varint(2, 13))), Message(7, graph));
        File.WriteAllBytes(path, model);
    }

    private static byte[] Tensor(string name, long[] dims, float[] data) =>
        Concat(Concat(dims.Select(d => Varint(1, (ulong)d)).ToArray()), Varint(2, 1), Str(8, name),
            Bytes(9, data.SelectMany(BitConverter.GetBytes).ToArray()));

    // A float tensor shaped [N, width] (N symbolic).
    private static byte[] ValueInfo(string name, int width) =>
        Concat(Str(1, name), Message(2, Message(1, Concat(Varint(1, 1),
            Message(2, Concat(Message(1, Str(2, "N")), Message(1, Varint(1, (ulong)width))))))));

    private static byte[] Varint(int field, ulong v) => Concat(Key(field, 0), Raw(v));
    private static byte[] Str(int field, string s) => Bytes(field, Encoding.UTF8.GetBytes(s));
    private static byte[] Message(int field, byte[] body) => Bytes(field, body);
    private static byte[] Bytes(int field, byte[] b) => Concat(Key(field, 2), Raw((ulong)b.Length), b);
    private static byte[] Key(int field, int wire) => Raw((ulong)(field << 3 | wire));

    private static byte[] Raw(ulong v)
    {
        var o = new List<byte>();
        do { var b = (byte)(v & 0x7f); v >>= 7; o.Add(v != 0 ? (byte)(b | 0x80) : b); } while (v != 0);
        return o.ToArray();
    }

    private static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();
}
