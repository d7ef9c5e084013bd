using Ray.Cluster.Logs;

namespace Ray.Cluster.Tests.Observability;

public static class LogFns
{
    public static int Say(string text)
    {
        Console.WriteLine("out: " + text);
        Console.Error.WriteLine("err: " + text);
        return Environment.ProcessId;
    }

    public static int Fail(string text) => throw new InvalidOperationException("logged failure " + text);
}

public sealed class LogActor
{
    public int Say(string text)
    {
        Console.WriteLine("actor says " + text);
        return Environment.ProcessId;
    }
}

/// <summary>Worker output reaches the driver that owns the task, prefixed with the task or actor and pid.</summary>
[Collection("cluster")]
public sealed class WorkerLogTests
{
    private static async Task<(string Out, string Err)> CaptureAsync(Func<Func<string>, Task> body)
    {
        var oldOut = Console.Out;
        var oldErr = Console.Error;
        var o = new StringWriter();
        var e = new StringWriter();
        var so = TextWriter.Synchronized(o); // its methods lock the wrapper itself
        var se = TextWriter.Synchronized(e);
        Console.SetOut(so);
        Console.SetError(se);
        try { await body(() => { lock (so) return o.ToString(); }); }
        finally
        {
            Console.SetOut(oldOut);
            Console.SetError(oldErr);
        }
        lock (so) lock (se) return (o.ToString(), e.ToString());
    }

    [Fact]
    public async Task Task_and_actor_output_is_printed_on_the_driver_with_name_and_pid()
    {
        await using var cluster = await ClusterScope.StartAsync();
        int taskPid = 0, actorPid = 0;
        var tag = Guid.NewGuid().ToString("N")[..8];
        var (stdout, stderr) = await CaptureAsync(async printed =>
        {
            await using var ray = cluster.Connect();
            taskPid = await ray.Task(LogFns.Say).Remote(tag);
            var actor = ray.Actor<LogActor>().Remote(() => new LogActor());
            actorPid = await actor.Task((LogActor a, string t) => a.Say(t)).Remote(tag);
            // Forwarding polls the files: the lines show within a poll or two, and the rest on dispose.
            await ClusterScope.WaitUntilAsync(() => printed().Contains("actor says", StringComparison.Ordinal), TimeSpan.FromSeconds(5));
        });
        Assert.Contains($"(LogFns.Say pid={taskPid}) out: {tag}", stdout, StringComparison.Ordinal);
        Assert.Contains($"(LogFns.Say pid={taskPid}) err: {tag}", stderr, StringComparison.Ordinal);
        Assert.Contains($"(LogActor pid={actorPid}) actor says {tag}", stdout, StringComparison.Ordinal);
        Assert.DoesNotContain(":task_name:", stdout, StringComparison.Ordinal);
        Assert.DoesNotContain(":pid:", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_LogToDriver_off_output_stays_in_the_session_files_and_failures_are_logged_there()
    {
        await using var cluster = await ClusterScope.StartAsync();
        var tag = Guid.NewGuid().ToString("N")[..8];
        int pid = 0;
        var (stdout, _) = await CaptureAsync(async printed =>
        {
            await using var ray = RayRuntime.Connect(cluster.SessionDir, new RuntimeOptions { LogToDriver = false });
            pid = await ray.Task(LogFns.Say).Remote(tag);
            await Assert.ThrowsAsync<RayTaskException>(async () => await ray.Task(LogFns.Fail).Remote(tag));
            await Task.Delay(300);
        });
        Assert.DoesNotContain(tag, stdout, StringComparison.Ordinal);
        var logs = Path.Combine(cluster.SessionDir, "logs");
        var outs = string.Concat(Directory.GetFiles(logs, "worker-*.out").Select(File.ReadAllText));
        var errs = string.Concat(Directory.GetFiles(logs, "worker-*.err").Select(File.ReadAllText));
        Assert.Contains(":task_name:LogFns.Say\nout: " + tag, outs, StringComparison.Ordinal);
        Assert.Contains($":pid:{pid}", outs, StringComparison.Ordinal);
        Assert.Contains(":failure:task LogFns.Fail failed in worker ", errs, StringComparison.Ordinal);
        Assert.Contains("System.InvalidOperationException: logged failure " + tag, errs, StringComparison.Ordinal);
    }

    [Fact]
    public void A_tail_forwards_whole_lines_only_and_reads_markers()
    {
        var file = Path.Combine(Path.GetTempPath(), "rtail-" + Guid.NewGuid().ToString("N") + ".out");
        try
        {
            File.WriteAllText(file, ":pid:42\n:task_name:F.G\nfirst line\nsecond ha");
            var tail = new Ray.Contract.Session.WorkerLogTail(file);
            Assert.Equal(["F.G pid=42|first line"], tail.ReadNewLines().Select(l => l.Prefix + "|" + l.Text));
            File.AppendAllText(file, "lf\n:actor_name:Counter\nthird\n");
            Assert.Equal(["F.G pid=42|second half", "Counter pid=42|third"], tail.ReadNewLines().Select(l => l.Prefix + "|" + l.Text));
            Assert.Empty(tail.ReadNewLines());
        }
        finally { File.Delete(file); }
    }
}
