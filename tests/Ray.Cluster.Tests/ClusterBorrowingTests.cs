namespace Ray.Cluster.Tests;

public static class BorrowFns
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(30);

    public static int SlowValue(int v, int ms)
    {
        Thread.Sleep(ms);
        return v;
    }

    public static int Broken(int v) => throw new ArgumentOutOfRangeException(nameof(v), "broken " + v);

    /// <summary>Reports whether its refs were still pending when it started, then sums them.</summary>
    public static string StartedEarly(List<ObjectRef<int>> refs)
    {
        var pendingAtStart = refs.Count(r => !r.IsReady);
        var sum = refs.Sum(r => r.Get(Long));
        return $"{pendingAtStart}|{sum}";
    }

    /// <summary>Takes results as they complete (Ray's wait loop), in completion order.</summary>
    public static string InCompletionOrder(List<ObjectRef<int>> refs)
    {
        var left = refs.ToList();
        var order = new List<int>();
        while (left.Count > 0)
        {
            var w = RayRuntime.Current.Wait(left, 1, Long);
            foreach (var r in w.Ready) order.Add(r.Get(Long));
            left = w.NotReady.ToList();
        }
        return string.Join(",", order);
    }

    public static string Describe(List<ObjectRef<int>> refs)
    {
        try { return "value " + refs[0].Get(Long); }
        catch (RayTaskException e) { return $"failed {e.InnerException?.GetType().Name}: {e.InnerException?.Message}"; }
    }

    /// <summary>Passes a borrowed (pending) ref on to a nested task, which asks the owner too.</summary>
    public static int PassOn(List<ObjectRef<int>> refs) =>
        RayRuntime.Current.Task(StartedEarlyFirst).Remote(refs).Get(Long);

    public static int StartedEarlyFirst(List<ObjectRef<int>> refs) => refs[0].Get(Long) + 1;

    public static bool SameId(List<ObjectRef<int>> refs, string id) => refs[0].Id.ToString() == id;

    /// <summary>Waits for its token (a cancel), else gives up after a while.</summary>
    public static int UntilCancelled(int seconds)
    {
        RayContext.CancellationToken.WaitHandle.WaitOne(TimeSpan.FromSeconds(seconds));
        RayContext.CancellationToken.ThrowIfCancellationRequested();
        return -1;
    }

    /// <summary>Cancels a borrowed ref's task from here (not its owner), then reads it.</summary>
    public static string CancelBorrowed(List<ObjectRef<int>> refs)
    {
        var sent = RayRuntime.Current.Cancel(refs[0]);
        try { return $"{sent} value {refs[0].Get(Long)}"; }
        catch (TaskCancelledException) { return $"{sent} cancelled"; }
    }
}

public sealed class RefKeeper
{
    private List<ObjectRef<int>>? _kept;
    public int Keep(List<ObjectRef<int>> refs) { _kept = refs; return refs.Count(r => !r.IsReady); }
    public int Sum() => _kept!.Sum(r => r.Get(TimeSpan.FromSeconds(30)));
}

/// <summary>
/// Refs inside arguments arrive unresolved (Ray's borrowing): a task starts while the objects
/// they name are still pending, and reads them through the owner when they are done.
/// </summary>
[Collection("cluster")]
public sealed class ClusterBorrowingTests
{
    [Fact]
    public async Task A_task_starts_before_the_refs_in_its_argument_are_ready_and_reads_them_later()
    {
        await using var cluster = await ClusterScope.StartAsync(cpus: 4);
        await using var ray = cluster.Connect();
        var refs = new List<ObjectRef<int>> { ray.Task(BorrowFns.SlowValue).Remote(1, 1500), ray.Task(BorrowFns.SlowValue).Remote(2, 1500) };
        Assert.Equal("2|3", await ray.Task(BorrowFns.StartedEarly).Remote(refs));
        Assert.True(refs[0].IsReady);
        // The same object, not a copy: the worker sees the owner's id.
        var pending = ray.Task(BorrowFns.SlowValue).Remote(3, 500);
        Assert.True(await ray.Task(BorrowFns.SameId).Remote(new List<ObjectRef<int>> { pending }, pending.Id.ToString()));
    }

    [Fact]
    public async Task A_task_waits_on_borrowed_refs_and_takes_them_in_completion_order()
    {
        await using var cluster = await ClusterScope.StartAsync(cpus: 4);
        await using var ray = cluster.Connect();
        var refs = new List<ObjectRef<int>> { ray.Task(BorrowFns.SlowValue).Remote(3, 1500), ray.Task(BorrowFns.SlowValue).Remote(1, 100), ray.Task(BorrowFns.SlowValue).Remote(2, 700) };
        Assert.Equal("1,2,3", await ray.Task(BorrowFns.InCompletionOrder).Remote(refs));
    }

    [Fact]
    public async Task A_borrowed_ref_whose_task_fails_fails_in_the_borrower_with_the_type()
    {
        await using var cluster = await ClusterScope.StartAsync();
        await using var ray = cluster.Connect();
        var broken = ray.Task(BorrowFns.Broken).Options(new TaskOptions { MaxRetries = 0 }).Remote(7);
        var described = await ray.Task(BorrowFns.Describe).Remote(new List<ObjectRef<int>> { broken });
        Assert.StartsWith("failed ArgumentOutOfRangeException", described);
        Assert.Contains("broken 7", described);
    }

    [Fact]
    public async Task The_owner_keeps_a_borrowed_object_while_the_task_runs_though_its_own_handle_is_gone()
    {
        await using var cluster = await ClusterScope.StartAsync();
        await using var ray = cluster.Connect();
        var slow = ray.Task(BorrowFns.SlowValue).Remote(42, 800);
        var result = ray.Task(BorrowFns.StartedEarly).Remote(new List<ObjectRef<int>> { slow });
        slow.Dispose();
        GC.Collect();
        Assert.Equal("1|42", await result);
    }

    [Fact]
    public async Task A_borrowed_ref_passed_on_to_a_nested_task_is_read_there()
    {
        await using var cluster = await ClusterScope.StartAsync(cpus: 4);
        await using var ray = cluster.Connect();
        var slow = ray.Task(BorrowFns.SlowValue).Remote(10, 1000);
        Assert.Equal(11, await ray.Task(BorrowFns.PassOn).Remote(new List<ObjectRef<int>> { slow }));
    }

    [Fact]
    public async Task A_worker_cancels_a_borrowed_refs_task_through_its_owner()
    {
        await using var cluster = await ClusterScope.StartAsync(cpus: 4);
        await using var ray = cluster.Connect();
        var running = ray.Task(BorrowFns.UntilCancelled).Remote(60);
        Assert.Equal("True cancelled", await ray.Task(BorrowFns.CancelBorrowed).Remote(new List<ObjectRef<int>> { running }));
        await Assert.ThrowsAsync<TaskCancelledException>(async () => await running); // the owner's ref too
    }

    [Fact]
    public async Task An_actor_keeps_borrowed_refs_and_reads_them_after_they_complete()
    {
        await using var cluster = await ClusterScope.StartAsync(cpus: 4);
        await using var ray = cluster.Connect();
        var keeper = ray.Actor<RefKeeper>().Remote();
        var refs = new List<ObjectRef<int>> { ray.Task(BorrowFns.SlowValue).Remote(5, 800), ray.Task(BorrowFns.SlowValue).Remote(6, 800) };
        Assert.Equal(2, await keeper.Task((RefKeeper k, List<ObjectRef<int>> r) => k.Keep(r)).Remote(refs));
        Assert.Equal(11, await keeper.Task(k => k.Sum()).Remote());
        GC.KeepAlive(refs);
    }
}
