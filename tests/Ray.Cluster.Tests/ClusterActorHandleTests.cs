namespace Ray.Cluster.Tests;

public static class HandleFns
{
    /// <summary>A task that calls the actor whose handle it was given.</summary>
    public static long AddTimes(ActorHandle<Counter> counter, int times)
    {
        long last = 0;
        for (var i = 0; i < times; i++) last = counter.Task((Counter c, long x) => c.Add(x)).Remote(1L).Get(TimeSpan.FromSeconds(30));
        return last;
    }

    public static int ActorPid(ActorHandle<Counter> counter) => counter.Task((Counter c) => c.Pid()).Remote().Get(TimeSpan.FromSeconds(30));

    public static string CallDead(ActorHandle<Counter> counter)
    {
        try { return "value " + counter.Task((Counter c) => c.Value()).Remote().Get(TimeSpan.FromSeconds(30)); }
        catch (RayException e) { return "failed: " + e.GetType().Name; }
    }

    public static ActorHandle<Counter> Echo(ActorHandle<Counter> counter) => counter;

    public static bool MeetFromTask(ActorHandle<Meeting> meeting) => meeting.Task((Meeting m, int n) => m.Meet(n)).Remote(2).Get(TimeSpan.FromSeconds(60));
}

/// <summary>A driver's actor handles passed to tasks in worker processes: their calls reach the same actor.</summary>
[Collection("cluster")]
public sealed class ClusterActorHandleTests
{
    [Fact]
    public async Task Tasks_in_workers_call_the_drivers_actor_through_its_handle()
    {
        await using var cluster = await ClusterScope.StartAsync();
        await using var ray = cluster.Connect();
        var counter = ray.Actor<Counter>().Remote(100L); // passed before it exists: the tasks wait for it
        var tasks = Enumerable.Range(0, 3).Select(_ => ray.Task(HandleFns.AddTimes).Remote(counter, 5)).ToArray();
        ray.Get(tasks, TimeSpan.FromSeconds(60));
        // 15 calls from three worker processes, one at a time on the one actor.
        Assert.Equal(115L, await counter.Task((Counter c) => c.Value()).Remote());
        var actorPid = await counter.Task((Counter c) => c.Pid()).Remote();
        Assert.Equal(actorPid, await ray.Task(HandleFns.ActorPid).Remote(counter));
    }

    [Fact]
    public async Task Many_tasks_with_the_same_handle_share_one_connection_per_process()
    {
        await using var cluster = await ClusterScope.StartAsync();
        await using var ray = cluster.Connect();
        var counter = ray.Actor<Counter>().Remote(0L);
        // More tasks than a worker accepts sessions (16): each process attaches to the actor once.
        var tasks = Enumerable.Range(0, 40).Select(_ => ray.Task(HandleFns.AddTimes).Remote(counter, 1)).ToArray();
        ray.Get(tasks, TimeSpan.FromSeconds(90));
        Assert.Equal(40L, await counter.Task((Counter c) => c.Value()).Remote());
    }

    [Fact]
    public async Task Returning_a_handle_from_a_worker_fails_clearly()
    {
        await using var cluster = await ClusterScope.StartAsync();
        await using var ray = cluster.Connect();
        var counter = ray.Actor<Counter>().Remote(0L);
        var e = await Assert.ThrowsAnyAsync<RayException>(async () => await ray.Task(HandleFns.Echo).Remote(counter));
        Assert.Contains("cannot be returned from a worker process", e.Message);
    }

    [Fact]
    public async Task A_threaded_actor_meets_calls_from_the_driver_and_from_a_task()
    {
        await using var cluster = await ClusterScope.StartAsync();
        await using var ray = cluster.Connect();
        var meeting = ray.Actor<Meeting>(new ActorOptions { MaxConcurrency = 2 }).Remote();
        var fromTask = ray.Task(HandleFns.MeetFromTask).Remote(meeting);
        var fromDriver = meeting.Task((Meeting m, int n) => m.Meet(n)).Remote(2);
        Assert.True(await fromDriver);
        Assert.True(await fromTask);
    }

    [Fact]
    public async Task A_killed_actors_handle_fails_calls_in_a_task_with_a_ray_error()
    {
        await using var cluster = await ClusterScope.StartAsync();
        await using var ray = cluster.Connect();
        var counter = ray.Actor<Counter>().Remote(1L);
        Assert.Equal(1L, await counter.Task((Counter c) => c.Value()).Remote());
        ray.Kill(counter);
        var outcome = await Assert.ThrowsAnyAsync<RayException>(async () => await ray.Task(HandleFns.CallDead).Remote(counter));
        Assert.Contains("Counter", outcome.Message);
    }
}
