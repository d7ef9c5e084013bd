using System.Text.Json;

namespace Ray.Serve.Onnx.Tests;

public sealed class OnnxModelTests
{
    [Fact]
    public async Task An_ONNX_model_is_served_with_batching_through_handles_and_HTTP()
    {
        var dir = Directory.CreateTempSubdirectory("serve-onnx-");
        try
        {
            var model = Path.Combine(dir.FullName, "tiny.onnx");
            TinyOnnx.Write(model);
            await using var ray = RayRuntime.Start();
            await using var serve = await Serve.StartAsync(ray, new ServeOptions { Http = new HttpOptions { Port = 0 } });
            var h = serve.Run(Serve.Deployment<OnnxModel>(new DeploymentOptions { NumReplicas = 2, MaxOngoingRequests = 32 }).Bind(model, 1), "tiny", "/tiny");
            Assert.Equal(4, await h.Remote((OnnxModel m) => m.Features()));

            var rows = Enumerable.Range(0, 64).Select(i => new float[] { i, 1, -i, 0.5f }).ToArray();
            var answers = await Task.WhenAll(rows.Select(r => h.Remote((OnnxModel m, float[][] xs) => m.Predict(xs), r).Task));
            for (var i = 0; i < rows.Length; i++) Assert.Equal(TinyOnnx.Expected(rows[i]), answers[i]);
            var largest = 0;
            for (var i = 0; i < 10; i++) largest = Math.Max(largest, await h.Remote((OnnxModel m) => m.LargestBatch()));
            Assert.True(largest > 1, $"64 concurrent rows ran in batches of at most {largest}");

            using var http = new HttpClient { BaseAddress = serve.HttpAddress };
            var posts = await Task.WhenAll(rows.Take(16).Select(async r =>
            {
                using var resp = await http.PostAsync("/tiny", new StringContent(JsonSerializer.Serialize(r)));
                return ((int)resp.StatusCode, await resp.Content.ReadAsStringAsync());
            }));
            for (var i = 0; i < posts.Length; i++)
            {
                Assert.Equal(200, posts[i].Item1);
                Assert.Equal(TinyOnnx.Expected(rows[i]), JsonSerializer.Deserialize<float[]>(posts[i].Item2));
            }
            using var bad = await http.PostAsync("/tiny", new StringContent("[1, 2]"));
            Assert.Equal(400, (int)bad.StatusCode);
            Assert.Contains("expected 4 numbers", await bad.Content.ReadAsStringAsync());
        }
        finally { dir.Delete(recursive: true); }
    }
}
