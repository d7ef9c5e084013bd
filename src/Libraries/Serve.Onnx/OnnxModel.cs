using System.Globalization;
using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Ray.Serve.Onnx;

/// <summary>
/// A deployment serving an ONNX model (ONNX Runtime, CPU) with dynamic batching: each replica
/// loads the model once; rows sent one by one are stacked into one [batch, features] input per
/// run. The model takes one float input shaped [N, features] and gives one float output shaped
/// [N, outputs]. Call <see cref="Predict"/> through a handle with one row, or POST a JSON array of
/// numbers to the application's route (the answer is the output row as a JSON array).
/// </summary>
public sealed class OnnxModel : IDisposable
{
    private readonly InferenceSession _session;
    private readonly string _input;
    private readonly int _features;
    private int _largestBatch;

    /// <param name="modelPath">The .onnx file (read by each replica: it must exist where replicas run).</param>
    /// <param name="intraOpThreads">Threads one run may use (1: replicas scale out instead).</param>
    public OnnxModel(string modelPath, int intraOpThreads)
    {
        using var options = new SessionOptions { IntraOpNumThreads = intraOpThreads, InterOpNumThreads = 1 };
        _session = new InferenceSession(modelPath, options);
        var (name, meta) = _session.InputMetadata.First();
        _input = name;
        _features = meta.Dimensions.Length == 2 && meta.Dimensions[1] > 0 ? meta.Dimensions[1]
            : throw new ArgumentException($"model {modelPath}: input '{name}' must be shaped [N, features] (is [{string.Join(", ", meta.Dimensions)}])");
    }

    /// <summary>Features per input row.</summary>
    public int Features() => _features;

    /// <summary>The most rows one run of this replica took so far (how well batching fills).</summary>
    public int LargestBatch() => Volatile.Read(ref _largestBatch);

    /// <summary>Runs the model on a batch of rows (callers send one row each).</summary>
    [Batch(maxBatchSize: 32, batchWaitTimeoutMs: 2)]
    public float[][] Predict(float[][] rows)
    {
        int seen;
        while ((seen = Volatile.Read(ref _largestBatch)) < rows.Length && Interlocked.CompareExchange(ref _largestBatch, rows.Length, seen) != seen) { }
        var input = new DenseTensor<float>([rows.Length, _features]);
        for (var i = 0; i < rows.Length; i++)
        {
            if (rows[i].Length != _features) throw new ArgumentException($"row {i} has {rows[i].Length} features; the model takes {_features}");
            rows[i].AsSpan().CopyTo(input.Buffer.Span.Slice(i * _features, _features));
        }
        using var results = _session.Run([NamedOnnxValue.CreateFromTensor(_input, input)]);
        var output = results.First().AsTensor<float>();
        var width = (int)(output.Length / rows.Length);
        var all = output.ToArray();
        var answer = new float[rows.Length][];
        for (var i = 0; i < rows.Length; i++) answer[i] = all.AsSpan(i * width, width).ToArray();
        return answer;
    }

    /// <summary>HTTP: a JSON array of numbers in, the output row as a JSON array out; 400 for a bad body.</summary>
    [Batch(maxBatchSize: 32, batchWaitTimeoutMs: 2)]
    public ServeResponse[] Handle(ServeRequest[] requests)
    {
        var rows = new float[requests.Length][];
        var bad = new string?[requests.Length];
        for (var i = 0; i < requests.Length; i++)
        {
            try
            {
                rows[i] = JsonSerializer.Deserialize<float[]>(requests[i].Body) ?? throw new JsonException("null");
                if (rows[i].Length != _features) bad[i] = $"expected {_features} numbers, got {rows[i].Length}";
            }
            catch (JsonException e) { bad[i] = $"the body must be a JSON array of {_features} numbers: {e.Message}"; }
        }
        var good = Enumerable.Range(0, rows.Length).Where(i => bad[i] is null).ToArray();
        var outputs = good.Length > 0 ? Predict(good.Select(i => rows[i]).ToArray()) : [];
        var responses = new ServeResponse[requests.Length];
        for (var i = 0; i < requests.Length; i++) if (bad[i] is { } why) responses[i] = ServeResponse.Text(why, 400);
        for (var k = 0; k < good.Length; k++)
            responses[good[k]] = ServeResponse.Json("[" + string.Join(",", outputs[k].Select(v => v.ToString("R", CultureInfo.InvariantCulture))) + "]");
        return responses;
    }

    /// <summary>Frees the session.</summary>
    public void Dispose() => _session.Dispose();
}
