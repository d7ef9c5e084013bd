using System.Text;

namespace Ray.Serve.Onnx.Tests;

/// <summary>Writes a small ONNX model by hand (protobuf): y = x · W + b, x shaped [N, 4], W [4, 2], b [2].</summary>
internal static class TinyOnnx
{
    public static readonly float[,] W = { { 1, 0 }, { 0, 1 }, { 1, 1 }, { -1, 2 } };
    public static readonly float[] B = { 0.5f, -1 };

    public static float[] Expected(float[] x) =>
        Enumerable.Range(0, 2).Select(j => Enumerable.Range(0, 4).Sum(i => x[i] * W[i, j]) + B[j]).ToArray();

    public static void Write(string path)
    {
        var w = new float[8];
        for (var i = 0; i < 4; i++) for (var j = 0; j < 2; j++) w[i * 2 + j] = W[i, j];
        var graph = Concat(
            Message(1, Concat(Str(1, "x"), Str(1, "W"), Str(2, "xw"), Str(4, "MatMul"))),
            Message(1, Concat(Str(1, "xw"), Str(1, "b"), Str(2, "y"), Str(4, "Add"))),
            Str(2, "tiny"),
            Message(5, Tensor("W", [4, 2], w)),
            Message(5, Tensor("b", [2], B)),
            Message(11, ValueInfo("x", 4)),
            Message(12, ValueInfo("y", 2)));
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
