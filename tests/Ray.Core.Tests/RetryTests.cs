namespace Ray.Core.Tests;

public static class RetryFns
{
    /// <summary>Fails with InvalidOperationException on the first <paramref name="failures"/> attempts.</summary>
    public static int FailTimes(string key, int failures)
    {
        var attempt = Probe.Increment(key);
        if (attempt <= failures) throw new InvalidOperationException($"attempt {attempt} failed");
        return attempt;
    }

    public static int FailTimeout(string key, int failures)
    {
        var attempt = Probe.Increment(key);
        if (attempt <= failures) throw new TimeoutException($"attempt {attempt} timed out");
        return attempt;
    }

    public static int FailFileNotFound(string key, int failures)
    {
        var attempt = Probe.Increment(key);
        if (attempt <= failures) throw new FileNotFoundException($"attempt {attempt}: missing");
        return attempt;
    }

    public static async Task<int> FailTimesAsync(string key, int failures)
    {
        await Task.Yield();
        var attempt = Probe.Increment(key);
        if (attempt <= failures) throw new InvalidOperationException($"attempt {attempt} failed");
        return attempt;
    }

    public static int Double(int x) => 2 * x;
}

public class RetryTests
{
    private static readonly TaskOptions Retrying = new() { MaxRetries = 3, RetryExceptions = true };

    [Fact]
    public async Task RetryExceptionsOff_FailsOnFirstAttempt()
    {
        await using var rt = Util.Start();
        var key = Util.Key();
        // Default options: application errors are not retried (MaxRetries is for system failures).
        var e = Assert.Throws<RayTaskException>(() => rt.Task(RetryFns.FailTimes).Remote(key, 1).Get(Util.Long));
        Assert.Equal("attempt 1 failed", e.RemoteMessage);
        Assert.Equal(1, Probe.Count(key));

        var key2 = Util.Key();
        var opts = new TaskOptions { MaxRetries = 5, RetryExceptions = false };
        Assert.Throws<RayTaskException>(() => rt.Task(RetryFns.FailTimes).Options(opts).Remote(key2, 1).Get(Util.Long));
        Assert.Equal(1, Probe.Count(key2));
        Assert.Equal(0, rt.Stats.TasksRetried);
    }

    [Fact]
    public async Task RetryExceptionsOn_RetriesUntilSuccess()
    {
        await using var rt = Util.Start();
        var key = Util.Key();
        var r = rt.Task(RetryFns.FailTimes).Options(Retrying).Remote(key, 2);
        Assert.Equal(3, r.Get(Util.Long));
        Assert.Equal(3, Probe.Count(key));
        Assert.Equal(2, rt.Stats.TasksRetried);
        // A dependent task sees only the successful value.
        Assert.Equal(6, rt.Task(RetryFns.Double).Remote(r).Get(Util.Long));
    }

    [Fact]
    public async Task RetriesExhausted_FailsWithLastError()
    {
        await using var rt = Util.Start();
        var key = Util.Key();
        var opts = new TaskOptions { MaxRetries = 2, RetryExceptions = true };
        var e = Assert.Throws<RayTaskException>(() => rt.Task(RetryFns.FailTimes).Options(opts).Remote(key, 100).Get(Util.Long));
        Assert.Equal(3, Probe.Count(key)); // 1 attempt + 2 retries
        Assert.Equal("attempt 3 failed", e.RemoteMessage);
        Assert.Equal(2, rt.Stats.TasksRetried);
    }

    [Fact]
    public async Task MaxRetriesZero_NoRetry()
    {
        await using var rt = Util.Start();
        var key = Util.Key();
        var opts = new TaskOptions { MaxRetries = 0, RetryExceptions = true };
        Assert.Throws<RayTaskException>(() => rt.Task(RetryFns.FailTimes).Options(opts).Remote(key, 1).Get(Util.Long));
        Assert.Equal(1, Probe.Count(key));
    }

    [Fact]
    public async Task AsyncTask_Retries()
    {
        await using var rt = Util.Start();
        var key = Util.Key();
        Assert.Equal(2, rt.Task(RetryFns.FailTimesAsync).Options(Retrying).Remote(key, 1).Get(Util.Long));
        Assert.Equal(2, Probe.Count(key));
    }

    [Fact]
    public async Task RetryExceptionTypes_FilterWhatIsRetried()
    {
        await using var rt = Util.Start();
        var opts = new TaskOptions { MaxRetries = 3, RetryExceptions = true, RetryExceptionTypes = [typeof(TimeoutException)] };

        var retried = Util.Key();
        Assert.Equal(3, rt.Task(RetryFns.FailTimeout).Options(opts).Remote(retried, 2).Get(Util.Long));
        Assert.Equal(3, Probe.Count(retried));

        var notRetried = Util.Key();
        var e = Assert.Throws<RayTaskException>(() => rt.Task(RetryFns.FailTimes).Options(opts).Remote(notRetried, 2).Get(Util.Long));
        Assert.Equal(typeof(InvalidOperationException).FullName, e.RemoteExceptionType);
        Assert.Equal(1, Probe.Count(notRetried));
    }

    [Fact]
    public async Task RetryExceptionTypes_MatchSubclasses()
    {
        await using var rt = Util.Start();
        var opts = new TaskOptions { MaxRetries = 3, RetryExceptions = true, RetryExceptionTypes = [typeof(IOException)] };
        var key = Util.Key();
        Assert.Equal(2, rt.Task(RetryFns.FailFileNotFound).Options(opts).Remote(key, 1).Get(Util.Long));
        Assert.Equal(2, Probe.Count(key));
    }

    [Fact]
    public async Task RetryExceptionTypes_AloneEnableRetries()
    {
        // Ray's retry_exceptions=[types] means "retry these"; a type list needs no extra switch.
        await using var rt = Util.Start();
        var opts = new TaskOptions { MaxRetries = 3, RetryExceptionTypes = [typeof(TimeoutException)] };
        var key = Util.Key();
        Assert.Equal(2, rt.Task(RetryFns.FailTimeout).Options(opts).Remote(key, 1).Get(Util.Long));
    }

    [Fact]
    public async Task NegativeMaxRetries_Rejected()
    {
        // -1 is "no limit" (as Ray's max_retries=-1); below that is refused (OptionsValidationTests).
        await using var rt = Util.Start();
        Assert.Throws<ArgumentOutOfRangeException>(() =>
            rt.Task(RetryFns.FailTimes).Options(new TaskOptions { MaxRetries = -2 }).Remote("x", 0));
    }
}
