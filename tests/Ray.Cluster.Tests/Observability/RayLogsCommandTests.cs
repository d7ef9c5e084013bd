using System.CommandLine;
using Ray.Raylet.Cli;

namespace Ray.Cluster.Tests.Observability;

public sealed class LoggingActor
{
    public int Say(string text)
    {
        Console.WriteLine("actor line " + text);
        return Environment.ProcessId;
    }
}

/// <summary><c>ray logs</c> lists the session's files and prints a worker's, an actor's or a task's lines, following new ones.</summary>
[Collection("cluster")]
public sealed class RayLogsCommandTests
{
    private static async Task<(int Code, string Out, string Err)> RayAsync(params string[] args)
    {
        var (o, e) = (new StringWriter(), new StringWriter());
        var code = await RayCli.InvokeAsync(args, o, e);
        return (code, o.ToString(), e.ToString());
    }

    [Fact]
    public async Task List_cat_by_worker_pid_actor_and_task_and_follow()
    {
        await using var cluster = await ClusterScope.StartAsync();
        await using var ray = RayRuntime.Connect(cluster.SessionDir, new RuntimeOptions { LogToDriver = false });
        var tag = Guid.NewGuid().ToString("N")[..8];
        var pid = await ray.Task(LogFns.Say).Remote(tag);
        var actor = ray.Actor<LoggingActor>().Remote(() => new LoggingActor());
        var actorPid = await actor.Task((LoggingActor a, string t) => a.Say(t)).Remote(tag);
        var dir = cluster.SessionDir;

        var list = await RayAsync("logs", "--session-dir", dir);
        Assert.Equal(0, list.Code);
        Assert.Contains("raylet.out", list.Out, StringComparison.Ordinal);
        Assert.Matches(@"worker-\d+-\d+\.out", list.Out);
        Assert.Matches(@"worker-\d+-\d+\.err", list.Out);

        var cat = await RayAsync("logs", "raylet.out", "--session-dir", dir);
        Assert.Equal(0, cat.Code);
        Assert.False(string.IsNullOrWhiteSpace(cat.Out));

        // Workers write their lines as they run; the file has them once the result is back.
        var byPid = await RayAsync("logs", "worker", "--pid", pid.ToString(), "--session-dir", dir);
        Assert.True(byPid.Code == 0, byPid.Err + string.Join("\n", Directory.GetFiles(Path.Combine(dir, "logs"), "worker-*").Select(f => f + ": " + File.ReadAllText(f))));
        Assert.Contains("out: " + tag, byPid.Out, StringComparison.Ordinal);
        Assert.DoesNotContain(":task_name:", byPid.Out, StringComparison.Ordinal);
        var errByPid = await RayAsync("logs", "worker", "--pid", pid.ToString(), "--err", "--session-dir", dir);
        Assert.Contains("err: " + tag, errByPid.Out, StringComparison.Ordinal);

        var actorId = actor.Id.ToString();
        var byActor = await RayAsync("logs", "actor", "--id", actorId, "--session-dir", dir);
        Assert.True(byActor.Code == 0, byActor.Err);
        Assert.Contains("actor line " + tag, byActor.Out, StringComparison.Ordinal);

        var byTask = await RayAsync("logs", "task", "--name", "LogFns.Say", "--session-dir", dir);
        Assert.Contains($"(LogFns.Say pid={pid}) out: {tag}", byTask.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("actor line", byTask.Out, StringComparison.Ordinal);

        var missing = await RayAsync("logs", "worker", "--pid", "1", "--session-dir", dir);
        Assert.Equal(1, missing.Code);
        Assert.Contains("no log of that worker", missing.Err, StringComparison.Ordinal);
        var none = await RayAsync("logs", "nothing-*.log", "--session-dir", dir);
        Assert.Equal(1, none.Code);

        // --follow prints lines written after it started, until cancelled.
        var followed = new StringWriter();
        var sync = TextWriter.Synchronized(followed);
        using var stop = new CancellationTokenSource();
        var follow = RayCli.Build().Parse(["logs", "actor", "--id", actorId, "--follow", "--session-dir", dir])
            .InvokeAsync(new InvocationConfiguration { Output = sync, Error = sync }, stop.Token);
        await actor.Task((LoggingActor a, string t) => a.Say(t)).Remote("later-" + tag);
        Assert.True(await ClusterScope.WaitUntilAsync(() => { lock (sync) return followed.ToString().Contains("actor line later-" + tag, StringComparison.Ordinal); }, TimeSpan.FromSeconds(10)));
        stop.Cancel();
        Assert.Equal(0, await follow.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.NotEqual(0, actorPid);
    }
}
