using Ray.Contract.Messages;
using System.Diagnostics;
using Ray.Cluster.Wire;
using Ray.Raylet.Leases;
using static Ray.Raylet.Tests.LeaseKit;

namespace Ray.Raylet.Tests;

/// <summary>
/// Idle workers beyond the ones a job keeps warm (its prestart count) are killed after the idle
/// timeout, oldest idle first, as Ray's raylet does; actors' workers are neither killed nor counted.
/// </summary>
public class IdleWorkerTests
{
    private static long After(TimeSpan t) => Stopwatch.GetTimestamp() + (long)(t.TotalSeconds * Stopwatch.Frequency);

    [Fact]
    public async Task Idle_workers_beyond_the_warm_ones_are_killed_oldest_idle_first_after_the_timeout()
    {
        var launcher = new RecordingLauncher();
        // The timeout is long: only the explicit reaps below act within the test.
        await using var m = NewManager(NewResources(cpus: 4), launcher, prestart: 1, idleTimeout: TimeSpan.FromMinutes(10));
        var sink = new ListSink();
        var job = m.RegisterJob(Job(), sink);
        for (ulong r = 1; r <= 3; r++) m.RequestLease(job, r, LeasePurpose.Task, Cpu(1));
        Assert.Equal(3, launcher.All.Length); // the prestarted one and two more for the backlog
        for (uint w = 1; w <= 3; w++) Register(m, launcher, w);
        var grants = Grants(sink);
        Assert.Equal(3, grants.Count);
        foreach (var r in new ulong[] { 2, 1, 3 }) m.ReturnLease(job, grants[r].LeaseId, workerBroken: false);
        Assert.Equal(3, m.Counts().IdleWorkers);

        Assert.Equal(0, m.ReapIdleWorkers(After(TimeSpan.FromMinutes(9)))); // not idle long enough
        Assert.Equal(2, m.ReapIdleWorkers(After(TimeSpan.FromMinutes(11))));
        // The two idle longest went; the most recently idle one (lease 3's worker) stays warm.
        var killed = launcher.All.Where(l => l.Process.Killed).Select(l => l.Request.WorkerId).Order().ToArray();
        var expected = new[] { grants[2].WorkerId, grants[1].WorkerId }.Order().ToArray();
        Assert.Equal(expected, killed);
        Assert.Equal(new LeaseCounts(1, 1, 1, 0, 0), m.Counts());
        Assert.Equal(0, m.ReapIdleWorkers(After(TimeSpan.FromHours(1)))); // the warm one is kept for good

        // The kept worker serves the next lease; a new backlog starts new workers again.
        m.RequestLease(job, 4, LeasePurpose.Task, Cpu(1));
        Assert.Equal(grants[3].WorkerId, Grants(sink)[4].WorkerId);
    }

    [Fact]
    public async Task Actor_and_leased_workers_are_never_reaped_and_actors_do_not_count_against_the_warm_ones()
    {
        var launcher = new RecordingLauncher();
        await using var m = NewManager(NewResources(cpus: 4), launcher, prestart: 1, idleTimeout: TimeSpan.FromMinutes(10));
        var sink = new ListSink();
        var job = m.RegisterJob(Job(), sink);
        m.RequestLease(job, 1, LeasePurpose.Actor, Cpu(1));
        m.RequestLease(job, 2, LeasePurpose.Task, Cpu(1));
        m.RequestLease(job, 3, LeasePurpose.Task, Cpu(1));
        for (uint w = 1; w <= 3; w++) Register(m, launcher, w);
        var grants = Grants(sink);
        m.ReturnLease(job, grants[2].LeaseId, workerBroken: false);

        // Task workers: one idle, one leased: two live, one kept warm, but the leased one is busy.
        Assert.Equal(1, m.ReapIdleWorkers(After(TimeSpan.FromHours(1))));
        Assert.True(launcher.Of(grants[2].WorkerId).Process.Killed);
        Assert.False(launcher.Of(grants[1].WorkerId).Process.Killed); // the actor's
        Assert.False(launcher.Of(grants[3].WorkerId).Process.Killed); // leased

        // Returned, the task worker is the one warm worker: kept. The actor's worker stays the actor's.
        m.ReturnLease(job, grants[3].LeaseId, workerBroken: false);
        Assert.Equal(0, m.ReapIdleWorkers(After(TimeSpan.FromHours(2))));
        Assert.Equal(new LeaseCounts(1, 2, 1, 0, 1), m.Counts());
    }

    [Fact]
    public async Task A_job_without_warm_workers_loses_every_idle_one_and_other_jobs_keep_theirs()
    {
        var launcher = new RecordingLauncher();
        await using var m = NewManager(NewResources(cpus: 4), launcher, prestart: 1, idleTimeout: TimeSpan.FromMinutes(10));
        var nestedSink = new ListSink();
        var nested = m.RegisterJob(Job() with { Nested = true }, nestedSink); // a driver inside a worker: no prestart
        m.RequestLease(nested, 1, LeasePurpose.Task, Cpu(1));
        var top = m.RegisterJob(Job(), new ListSink());
        Assert.Equal(2, launcher.All.Length);
        Register(m, launcher, 1);
        Register(m, launcher, 2);
        m.ReturnLease(nested, Grants(nestedSink)[1].LeaseId, workerBroken: false);
        Assert.Equal(2, m.Counts().IdleWorkers);
        Assert.Equal(1, m.ReapIdleWorkers(After(TimeSpan.FromHours(1))));
        Assert.True(launcher.Of(1).Process.Killed);   // the nested job's
        Assert.False(launcher.Of(2).Process.Killed);  // the top job's prestarted one
        Assert.Single(top.Workers);
        Assert.Empty(nested.Workers);
    }

    [Fact]
    public async Task The_raylet_reaps_on_its_own_after_the_timeout()
    {
        var launcher = new RecordingLauncher();
        await using var m = NewManager(NewResources(cpus: 4), launcher, prestart: 0, idleTimeout: TimeSpan.FromMilliseconds(200));
        var sink = new ListSink();
        var job = m.RegisterJob(Job(), sink);
        m.RequestLease(job, 1, LeasePurpose.Task, Cpu(1));
        Register(m, launcher, 1);
        m.ReturnLease(job, Grants(sink)[1].LeaseId, workerBroken: false);
        var process = launcher.Of(1).Process;
        var started = Stopwatch.StartNew();
        await process.Exited.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(process.Killed);
        Assert.True(started.Elapsed >= TimeSpan.FromMilliseconds(150), $"killed after {started.Elapsed.TotalMilliseconds:0} ms");
        Assert.Equal(new LeaseCounts(1, 0, 0, 0, 0), m.Counts());
    }
}
