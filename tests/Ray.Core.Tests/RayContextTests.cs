namespace Ray.Core.Tests;

public static class ContextFns
{
    public static string Describe(int _) => Format();

    public static string Format()
    {
        var r = RayContext.AssignedResources;
        var res = string.Join(",", r.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key}={kv.Value}"));
        return $"{RayContext.JobId}|{RayContext.NodeId}|{RayContext.Namespace}|{RayContext.ActorId}|{res}|{RayContext.PlacementGroupId}|{RayContext.IsInsideTask}";
    }
}

public sealed class ContextActor
{
    public string Describe() => ContextFns.Format();
}

/// <summary>RayContext on an embedded runtime (issue 13's runtime context).</summary>
public sealed class RayContextTests
{
    [Fact]
    public async Task Tasks_actors_and_the_driver_see_where_they_run()
    {
        await using var ray = RayRuntime.Start(new RuntimeOptions { NumCpus = 4, Namespace = "ctx", Resources = new Dictionary<string, double> { ["disk"] = 2 } });
        var driver = ContextFns.Format().Split('|');
        Assert.Equal("0", driver[0]); // embedded: no raylet job
        Assert.False(string.IsNullOrEmpty(driver[1]));
        Assert.Equal("ctx", driver[2]);
        Assert.Equal("False", driver[6]);

        var task = (await ray.Task(ContextFns.Describe).Options(new TaskOptions { NumCpus = 2, Resources = new Dictionary<string, double> { ["disk"] = 1 } }).Remote(0)).Split('|');
        Assert.Equal(driver[1], task[1]);
        Assert.Equal("ctx", task[2]);
        Assert.Equal("", task[3]); // not an actor
        Assert.Equal("CPU=2,disk=1", task[4]);
        Assert.Equal("True", task[6]);

        var actor = ray.Actor<ContextActor>(new ActorOptions { NumCpus = 1 }).Remote();
        var inActor = (await actor.Task(a => a.Describe()).Remote()).Split('|');
        Assert.Equal(actor.Id.ToString(), inActor[3]);
        Assert.Equal("CPU=1", inActor[4]);

        var pg = ray.PlacementGroup([new Dictionary<string, double> { ["CPU"] = 1 }]);
        var placed = (await ray.Task(ContextFns.Describe).Options(new TaskOptions { SchedulingStrategy = new PlacementGroupSchedulingStrategy(pg) }).Remote(0)).Split('|');
        Assert.Equal(pg.Id.ToString(), placed[5]);
    }
}
