namespace Ray.Cluster.Tests;

public static class GpuFns
{
    public static string Ids(int sleepMs)
    {
        Thread.Sleep(sleepMs);
        return string.Join(',', RayContext.GpuIds) + "|" + Environment.GetEnvironmentVariable("CUDA_VISIBLE_DEVICES");
    }
}

public sealed class GpuActor
{
    public string Ids() => string.Join(',', RayContext.GpuIds);
}

[Collection("cluster")]
public sealed class ClusterGpuTests
{
    [Fact]
    public async Task Leases_asking_for_GPUs_get_their_own_GPU_ids_and_CUDA_VISIBLE_DEVICES()
    {
        await using var cluster = await ClusterScope.StartAsync(cpus: 2, extra: "--num-gpus 2");
        await using var ray = cluster.Connect();
        Assert.Equal(2.0, ray.ClusterResources["GPU"]);
        var oneGpu = new TaskOptions { NumGpus = 1, NumCpus = 0.5 };
        // Two at once: each holds a whole GPU, so they get different ones.
        var a = ray.Task(GpuFns.Ids).Options(oneGpu).Remote(500);
        var b = ray.Task(GpuFns.Ids).Options(oneGpu).Remote(500);
        var (ra, rb) = (await a, await b);
        var ida = ra.Split('|');
        var idb = rb.Split('|');
        Assert.Equal(ida[0], ida[1]); // RayContext.GpuIds matches CUDA_VISIBLE_DEVICES
        Assert.Equal(idb[0], idb[1]);
        Assert.Equal(new[] { "0", "1" }, new[] { ida[0], idb[0] }.Order());
        // No GPU asked: none seen.
        Assert.Equal("|", await ray.Task(GpuFns.Ids).Remote(0));
        // A fraction shares one; an actor keeps its GPU for its life.
        Assert.Single((await ray.Task(GpuFns.Ids).Options(new TaskOptions { NumGpus = 0.5 }).Remote(0)).Split('|')[0].Split(','));
        var actor = ray.Actor<GpuActor>(new ActorOptions { NumGpus = 1 }).Remote();
        var actorIds = await actor.Task((GpuActor g) => g.Ids()).Remote();
        Assert.Contains(actorIds, new[] { "0", "1" });
        Assert.Equal(actorIds, await actor.Task((GpuActor g) => g.Ids()).Remote());
    }
}
