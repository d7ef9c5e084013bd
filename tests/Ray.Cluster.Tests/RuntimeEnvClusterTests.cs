namespace Ray.Cluster.Tests;

public static class EnvFns
{
    public static string Var(string name) => Environment.GetEnvironmentVariable(name) ?? "<unset>";
    public static string ReadFile(string path) => File.ReadAllText(path);
    public static string Cwd(int _) => Environment.CurrentDirectory;

    /// <summary>A nested task (no environment of its own) reads a variable and a file: it inherits its parent's.</summary>
    public static string Nested(string name) =>
        RayRuntime.Current.Task(Var).Remote(name).Get(TimeSpan.FromSeconds(30)) + "|" + RayRuntime.Current.Task(ReadFile).Remote("data.txt").Get(TimeSpan.FromSeconds(30));
}

public sealed class EnvActor
{
    private readonly string _atStart;
    public EnvActor(string name) => _atStart = Environment.GetEnvironmentVariable(name) ?? "<unset>";
    public string AtStart() => _atStart;
    public string Var(string name) => Environment.GetEnvironmentVariable(name) ?? "<unset>";
    public string ReadFile(string path) => File.ReadAllText(path);
}

/// <summary>Runtime environments (EnvVars, WorkingDir) for jobs, tasks and actors in worker processes.</summary>
[Collection("cluster")]
public sealed class RuntimeEnvClusterTests
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(30);

    private static string TempDir(string file, string text)
    {
        var dir = Path.Combine(Path.GetTempPath(), "ray-wd-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(Path.Combine(dir, "sub"));
        File.WriteAllText(Path.Combine(dir, file), text);
        File.WriteAllText(Path.Combine(dir, "sub", "nested.txt"), "nested " + text);
        return dir;
    }

    [Fact]
    public async Task Job_and_task_variables_merge_and_a_task_without_one_sees_the_job_only()
    {
        await using var cluster = await ClusterScope.StartAsync(cpus: 1); // one worker runs them in turn
        await using var ray = RayRuntime.Connect(cluster.SessionDir, new RuntimeOptions
        {
            RuntimeEnv = new RuntimeEnv { EnvVars = new Dictionary<string, string> { ["RAY_T_JOB"] = "job", ["RAY_T_BOTH"] = "job" } },
        });
        Assert.Equal("job", await ray.Task(EnvFns.Var).Remote("RAY_T_JOB"));
        var own = new TaskOptions { RuntimeEnv = new RuntimeEnv { EnvVars = new Dictionary<string, string> { ["RAY_T_BOTH"] = "task", ["RAY_T_TASK"] = "task" } } };
        Assert.Equal("task", await ray.Task(EnvFns.Var).Options(own).Remote("RAY_T_BOTH"));
        Assert.Equal("job", await ray.Task(EnvFns.Var).Options(own).Remote("RAY_T_JOB"));
        Assert.Equal("task", await ray.Task(EnvFns.Var).Options(own).Remote("RAY_T_TASK"));
        // The next task without its own environment: the task's variables are undone.
        Assert.Equal("<unset>", await ray.Task(EnvFns.Var).Remote("RAY_T_TASK"));
        Assert.Equal("job", await ray.Task(EnvFns.Var).Remote("RAY_T_BOTH"));
        Assert.Equal("<unset>", Environment.GetEnvironmentVariable("RAY_T_JOB") ?? "<unset>"); // the driver's own is untouched
    }

    [Fact]
    public async Task A_working_dir_is_shipped_unpacked_once_per_node_and_is_the_tasks_current_directory()
    {
        var dir = TempDir("data.txt", "hello");
        try
        {
            await using var cluster = await ClusterScope.StartAsync(cpus: 1);
            await using var ray = cluster.Connect();
            var opts = new TaskOptions { RuntimeEnv = new RuntimeEnv { WorkingDir = dir } };
            Assert.Equal("hello", await ray.Task(EnvFns.ReadFile).Options(opts).Remote("data.txt"));
            Assert.Equal("nested hello", await ray.Task(EnvFns.ReadFile).Options(opts).Remote("sub/nested.txt"));
            var cwd = await ray.Task(EnvFns.Cwd).Options(opts).Remote(0);
            Assert.StartsWith(Path.Combine(cluster.SessionDir, "runtime_resources", "working_dir"), cwd);
            Assert.Single(Directory.GetDirectories(Path.Combine(cluster.SessionDir, "runtime_resources", "working_dir")));
            // Without it, the worker is back in its own directory.
            Assert.NotEqual(cwd, await ray.Task(EnvFns.Cwd).Remote(0));
            // Same contents from another folder: the same unpacked copy (named by content).
            var twin = TempDir("data.txt", "hello");
            try
            {
                var twinOpts = new TaskOptions { RuntimeEnv = new RuntimeEnv { WorkingDir = twin } };
                Assert.Equal(cwd, await ray.Task(EnvFns.Cwd).Options(twinOpts).Remote(0));
            }
            finally { Directory.Delete(twin, true); }
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public async Task Tasks_submitted_from_a_task_inherit_its_environment()
    {
        var dir = TempDir("data.txt", "inherited");
        try
        {
            await using var cluster = await ClusterScope.StartAsync(cpus: 2);
            await using var ray = cluster.Connect();
            var opts = new TaskOptions { RuntimeEnv = new RuntimeEnv { EnvVars = new Dictionary<string, string> { ["RAY_T_PARENT"] = "parent" }, WorkingDir = dir } };
            Assert.Equal("parent|inherited", await ray.Task(EnvFns.Nested).Options(opts).Remote("RAY_T_PARENT"));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public async Task An_actor_runs_its_life_in_its_environment()
    {
        var dir = TempDir("model.txt", "weights");
        try
        {
            await using var cluster = await ClusterScope.StartAsync();
            await using var ray = cluster.Connect();
            var a = ray.Actor<EnvActor>(new ActorOptions
            {
                RuntimeEnv = new RuntimeEnv { EnvVars = new Dictionary<string, string> { ["RAY_T_ACTOR"] = "actor" }, WorkingDir = dir },
            }).Remote("RAY_T_ACTOR");
            Assert.Equal("actor", await a.Task(x => x.AtStart()).Remote());
            Assert.Equal("actor", await a.Task((EnvActor x, string n) => x.Var(n)).Remote("RAY_T_ACTOR"));
            Assert.Equal("weights", await a.Task((EnvActor x, string p) => x.ReadFile(p)).Remote("model.txt"));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public async Task An_actor_without_an_environment_does_not_inherit_the_last_tasks_on_its_worker()
    {
        await using var cluster = await ClusterScope.StartAsync(cpus: 1); // the actor takes the worker the task used
        await using var ray = cluster.Connect();
        var opts = new TaskOptions { RuntimeEnv = new RuntimeEnv { EnvVars = new Dictionary<string, string> { ["RAY_T_LEAK"] = "task" } } };
        Assert.Equal("task", await ray.Task(EnvFns.Var).Options(opts).Remote("RAY_T_LEAK"));
        await Task.Delay(200); // the lease goes back: the worker is idle
        var a = ray.Actor<EnvActor>(new ActorOptions { NumCpus = 1 }).Remote("RAY_T_LEAK");
        Assert.Equal("<unset>", await a.Task(x => x.AtStart()).Remote());
    }

    [Fact]
    public async Task Bad_environments_fail_at_the_call()
    {
        await using var cluster = await ClusterScope.StartAsync();
        await using var ray = cluster.Connect();
        var missing = new TaskOptions { RuntimeEnv = new RuntimeEnv { WorkingDir = "/no/such/dir-" + Guid.NewGuid() } };
        Assert.Throws<DirectoryNotFoundException>(() => ray.Task(EnvFns.Var).Options(missing).Remote("x"));
        var badName = new TaskOptions { RuntimeEnv = new RuntimeEnv { EnvVars = new Dictionary<string, string> { ["A=B"] = "1" } } };
        Assert.Throws<ArgumentException>(() => ray.Task(EnvFns.Var).Options(badName).Remote("x"));
        Assert.Throws<DirectoryNotFoundException>(() => ray.Actor<EnvActor>(new ActorOptions { RuntimeEnv = new RuntimeEnv { WorkingDir = "/no/such" } }).Remote("x"));
        Assert.Equal("<unset>", await ray.Task(EnvFns.Var).Remote("x")); // the runtime goes on
    }
}
