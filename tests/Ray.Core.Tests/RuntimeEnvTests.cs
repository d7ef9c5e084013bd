namespace Ray.Core.Tests;

public static class EmbeddedEnvFns
{
    public static string Var(string name) => Environment.GetEnvironmentVariable(name) ?? "<unset>";
}

/// <summary>Runtime environments in an embedded runtime: the job's variables only (tasks share this process).</summary>
public sealed class RuntimeEnvTests
{
    [Fact]
    public async Task The_jobs_variables_are_set_on_the_process_and_tasks_see_them()
    {
        var name = "RAY_T_EMB_" + Util.Key().Replace('-', '_');
        await using var ray = RayRuntime.Start(new RuntimeOptions
        {
            NumCpus = 2,
            RuntimeEnv = new RuntimeEnv { EnvVars = new Dictionary<string, string> { [name] = "job" } },
        });
        Assert.Equal("job", await ray.Task(EmbeddedEnvFns.Var).Remote(name));
        Environment.SetEnvironmentVariable(name, null);
    }

    [Fact]
    public async Task Per_task_or_actor_environments_and_a_working_dir_are_refused_with_the_reason()
    {
        await using var ray = Util.Start();
        var env = new RuntimeEnv { EnvVars = new Dictionary<string, string> { ["X"] = "1" } };
        var e = Assert.Throws<NotSupportedException>(() => ray.Task(EmbeddedEnvFns.Var).Options(new TaskOptions { RuntimeEnv = env }).Remote("X"));
        Assert.Contains("worker processes", e.Message);
        Assert.Throws<NotSupportedException>(() => ray.Actor<ActorCounter>(new ActorOptions { RuntimeEnv = env }).Remote(1));
        Assert.Throws<NotSupportedException>(() => RayRuntime.Start(new RuntimeOptions { RuntimeEnv = new RuntimeEnv { WorkingDir = Path.GetTempPath() } }));
        // An empty environment is no environment.
        Assert.Equal("<unset>", await ray.Task(EmbeddedEnvFns.Var).Options(new TaskOptions { RuntimeEnv = new RuntimeEnv() }).Remote("RAY_T_NOPE"));
    }

    [Fact]
    public void Merge_overrides_variables_by_name_and_the_working_dir()
    {
        var job = new RuntimeEnv { EnvVars = new Dictionary<string, string> { ["A"] = "job", ["B"] = "job" }, WorkingDir = "/job" };
        var own = new RuntimeEnv { EnvVars = new Dictionary<string, string> { ["B"] = "own" } };
        var m = RuntimeEnv.Merge(job, own)!;
        Assert.Equal("job", m.EnvVars!["A"]);
        Assert.Equal("own", m.EnvVars["B"]);
        Assert.Equal("/job", m.WorkingDir);
        Assert.Equal("/own", RuntimeEnv.Merge(job, own with { WorkingDir = "/own" })!.WorkingDir);
        Assert.Null(RuntimeEnv.Merge(null, new RuntimeEnv()));
        Assert.Same(job, RuntimeEnv.Merge(job, null));
    }
}
