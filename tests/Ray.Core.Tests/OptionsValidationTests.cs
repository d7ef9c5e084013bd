namespace Ray.Core.Tests;

/// <summary>
/// NaN, infinite and out-of-range numbers in options are refused at the call, named as what they
/// are, with the task or actor they belong to (issue 11, "Small but wrong").
/// </summary>
public class OptionsValidationTests
{
    public static TheoryData<string, TaskOptions, string> BadTaskResources => new()
    {
        { "NumCpus NaN", new TaskOptions { NumCpus = double.NaN }, "NumCpus is NaN" },
        { "NumCpus +inf", new TaskOptions { NumCpus = double.PositiveInfinity }, "NumCpus is +infinity" },
        { "NumGpus NaN", new TaskOptions { NumGpus = double.NaN }, "NumGpus is NaN" },
        { "NumGpus -inf", new TaskOptions { NumGpus = double.NegativeInfinity }, "NumGpus is -infinity" },
        { "custom NaN", new TaskOptions { Resources = new Dictionary<string, double> { ["acc"] = double.NaN } }, "resource 'acc' is NaN" },
        { "custom +inf", new TaskOptions { Resources = new Dictionary<string, double> { ["acc"] = double.PositiveInfinity } }, "resource 'acc' is +infinity" },
        { "memory too large", new TaskOptions { MemoryBytes = long.MaxValue }, "MemoryBytes 9223372036854775807 is too large" },
    };

    [Theory]
    [MemberData(nameof(BadTaskResources))]
    public async Task Task_resource_amounts_that_are_not_finite_are_refused_as_such_naming_the_function(string _, TaskOptions options, string expected)
    {
        await using var rt = Util.Start(resources: new Dictionary<string, double> { ["acc"] = 1 });
        var e = Assert.Throws<ArgumentException>(() => rt.Task(ResFns.One).Options(options).Remote());
        Assert.Contains(expected, e.Message);
        Assert.Contains("ResFns.One", e.Message);
        Assert.DoesNotContain("negative", e.Message);
        // A named task is named by its name.
        var named = Assert.Throws<ArgumentException>(() => rt.Task(ResFns.One).Options(options with { Name = "my-task" }).Remote());
        Assert.Contains("Task my-task", named.Message);
        // Nothing was accepted; the runtime still runs tasks.
        Assert.Equal(1, rt.Task(ResFns.One).Remote().Get(Util.Long));
    }

    [Theory]
    [InlineData(double.NaN, "NumCpus is NaN")]
    [InlineData(double.PositiveInfinity, "NumCpus is +infinity")]
    public async Task Actor_resource_amounts_that_are_not_finite_are_refused_naming_the_actor(double cpus, string expected)
    {
        await using var rt = Util.Start();
        var e = Assert.Throws<ArgumentException>(() => rt.Actor<ResourceHolder>(new ActorOptions { NumCpus = cpus }).Remote());
        Assert.Contains(expected, e.Message);
        Assert.Contains("Actor ResourceHolder", e.Message);
        var custom = Assert.Throws<ArgumentException>(() =>
            rt.Actor<ResourceHolder>(new ActorOptions { Resources = new Dictionary<string, double> { ["acc"] = double.NaN } }).Remote());
        Assert.Contains("resource 'acc' is NaN", custom.Message);
    }

    [Theory]
    [InlineData(double.NaN, "NumCpus is NaN")]
    [InlineData(double.PositiveInfinity, "NumCpus is +infinity")]
    public void Runtime_resource_amounts_that_are_not_finite_are_refused(double cpus, string expected)
    {
        var e = Assert.Throws<ArgumentException>(() => RayRuntime.Start(new RuntimeOptions { NumCpus = cpus }));
        Assert.Contains(expected, e.Message);
        Assert.Contains("RuntimeOptions", e.Message);
        var gpus = Assert.Throws<ArgumentException>(() => RayRuntime.Start(new RuntimeOptions { NumGpus = double.NaN }));
        Assert.Contains("NumGpus is NaN", gpus.Message);
        var custom = Assert.Throws<ArgumentException>(() => RayRuntime.Start(new RuntimeOptions { Resources = new Dictionary<string, double> { ["x"] = double.PositiveInfinity } }));
        Assert.Contains("resource 'x' is +infinity", custom.Message);
    }

    [Theory]
    [InlineData(-2)]
    [InlineData(int.MinValue)]
    public async Task Retry_and_restart_counts_below_minus_one_are_refused_at_the_call(int count)
    {
        await using var rt = Util.Start();
        var task = Assert.Throws<ArgumentOutOfRangeException>(() => rt.Task(ResFns.One).Options(new TaskOptions { MaxRetries = count }).Remote());
        Assert.Contains($"MaxRetries is {count}", task.Message);
        Assert.Contains("ResFns.One", task.Message);
        var restarts = Assert.Throws<ArgumentOutOfRangeException>(() => rt.Actor<ResourceHolder>(new ActorOptions { MaxRestarts = count }).Remote());
        Assert.Contains($"MaxRestarts is {count}", restarts.Message);
        Assert.Contains("Actor ResourceHolder", restarts.Message);
        var retries = Assert.Throws<ArgumentOutOfRangeException>(() => rt.Actor<ResourceHolder>(new ActorOptions { MaxTaskRetries = count }).Remote());
        Assert.Contains($"MaxTaskRetries is {count}", retries.Message);
        Assert.Equal(1, rt.Task(ResFns.One).Remote().Get(Util.Long));
    }

    [Fact]
    public async Task Minus_one_means_no_limit()
    {
        await using var rt = Util.Start();
        var key = Util.Key();
        // Fails 5 times; -1 retries without limit (as Ray's max_retries=-1).
        var result = rt.Task(RetryFns.FailTimes).Options(new TaskOptions { MaxRetries = -1, RetryExceptions = true }).Remote(key, 5);
        Assert.Equal(6, result.Get(Util.Long));
        var actor = rt.Actor<ResourceHolder>(new ActorOptions { MaxRestarts = -1, MaxTaskRetries = -1 }).Remote();
        Assert.Equal(1, actor.Task(a => a.Ping()).Remote().Get(Util.Long));
    }
}
