using Ray.Cluster.Wire;
using Ray.Raylet.Leases;
using Ray.Contract.Messages;
using Ray.Raylet.Node;
using Ray.Raylet.Workers;
using static Ray.Raylet.Tests.LeaseKit;

namespace Ray.Raylet.Tests;

/// <summary>Jobs, workers and leases without sockets or processes: a recording launcher and fake workers.</summary>
public class LeaseManagerTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task A_job_prestarts_workers_with_its_ids_paths_and_the_token()
    {
        var launcher = new RecordingLauncher();
        await using var m = NewManager(NewResources(cpus: 3), launcher, prestart: 3);
        var job = m.RegisterJob(Job("etl", "/code/a", "/code/b.dll"), new ListSink());
        Assert.Equal(3, launcher.All.Length);
        foreach (var (r, _) in launcher.All)
        {
            Assert.Equal(job.Id, r.JobId);
            Assert.Equal("127.0.0.1:1", r.RayletAddress);
            Assert.Equal("0123456789abcdef0123456789abcdef", r.Token);
            Assert.Equal(["/code/a", "/code/b.dll"], r.CodePaths);
            Assert.Equal("/tmp/fake.sock", r.PlasmaSocket);
            Assert.Equal($"/tmp/rlt-fake-session/logs/worker-{job.Id}-{r.WorkerId}.out", r.LogFile);
        }
        Assert.Equal(3, launcher.All.Select(l => l.Request.WorkerId).Distinct().Count());
        var accepted = m.Accepted(job);
        Assert.Equal("feedfacefeedfacefeedfacefeedface", accepted.NodeId);
        Assert.Contains(new ResourceAmount("CPU", 3 * U), accepted.Resources);
        Assert.Contains(new ResourceAmount("accelerator", 2 * U), accepted.Resources);
        Assert.Equal(new LeaseCounts(1, 3, 0, 0, 0), m.Counts());
    }

    [Fact]
    public async Task A_lease_waits_for_a_registered_worker_then_is_granted_with_its_socket_and_pid()
    {
        var launcher = new RecordingLauncher();
        var resources = NewResources(cpus: 2);
        await using var m = NewManager(resources, launcher, prestart: 1);
        var sink = new ListSink();
        var job = m.RegisterJob(Job(), sink);
        m.RequestLease(job, 7, LeasePurpose.Task, Cpu(1));
        Assert.Empty(Grants(sink));
        Assert.Equal(1, m.Counts().QueuedLeases);
        Assert.Single(launcher.All); // the prestarted one will serve it: no second start

        var w = Register(m, launcher, 1);
        var grant = Assert.Single(Grants(sink));
        Assert.Equal(7ul, grant.Key);
        Assert.Equal((w.Id, RecordingLauncher.PidBase + 1, "/tmp/w1.sock"), (grant.Value.WorkerId, grant.Value.Pid, grant.Value.WorkerSocket));
        Assert.Equal(1, resources.Available("CPU"));
        Assert.Equal(new LeaseCounts(1, 1, 0, 0, 1), m.Counts());

        m.ReturnLease(job, grant.Value.LeaseId, workerBroken: false);
        Assert.Equal(2, resources.Available("CPU"));
        Assert.Equal(new LeaseCounts(1, 1, 1, 0, 0), m.Counts());
        m.ReturnLease(job, grant.Value.LeaseId, workerBroken: false); // twice: ignored
        m.ReturnLease(job, 12345, workerBroken: true);                // unknown: ignored
        Assert.Equal(2, resources.Available("CPU"));

        // The idle worker is reused for the next task lease.
        m.RequestLease(job, 8, LeasePurpose.Task, Cpu(0.5));
        Assert.Equal(w.Id, Grants(sink)[8].WorkerId);
        Assert.Single(launcher.All);
    }

    [Fact]
    public async Task Requests_that_fit_are_granted_oldest_first_and_one_that_does_not_fit_does_not_block_later_ones()
    {
        var launcher = new RecordingLauncher();
        var resources = NewResources(cpus: 2);
        await using var m = NewManager(resources, launcher, prestart: 3);
        var sink = new ListSink();
        var job = m.RegisterJob(Job(), sink);
        for (uint i = 1; i <= 3; i++) Register(m, launcher, i);
        m.RequestLease(job, 1, LeasePurpose.Task, Cpu(2));
        m.RequestLease(job, 2, LeasePurpose.Task, Cpu(1));
        m.RequestLease(job, 3, LeasePurpose.Task, []); // zero CPU: fits, granted although 2 waits (as Ray)
        Assert.Equal([1ul, 3ul], Grants(sink).Keys.Order());
        Assert.Equal(1, m.Counts().QueuedLeases);

        m.ReturnLease(job, Grants(sink)[1].LeaseId, false);
        Assert.Equal([1ul, 2ul, 3ul], Grants(sink).Keys.Order());
        Assert.Equal(1, resources.Available("CPU"));
        Assert.NotEqual(Grants(sink)[2].WorkerId, Grants(sink)[3].WorkerId);
        Assert.Equal(3, Grants(sink).Values.Select(g => g.LeaseId).Distinct().Count());
    }

    [Theory]
    [InlineData("CPU", 5.0)]
    [InlineData("GPU", 1.0)]
    [InlineData("accelerator", 2.5)]
    [InlineData("no-such-thing", 0.1)]
    public async Task An_infeasible_request_is_refused_at_once(string name, double amount)
    {
        var launcher = new RecordingLauncher();
        await using var m = NewManager(NewResources(cpus: 4), launcher, prestart: 0);
        var sink = new ListSink();
        var job = m.RegisterJob(Job(), sink);
        m.RequestLease(job, 9, LeasePurpose.Task, [new ResourceAmount(name, (long)(amount * U))]);
        var (code, message) = Errors(sink)[9];
        Assert.Equal(ClusterErrorCode.Infeasible, code);
        Assert.Contains(name, message);
        Assert.Equal(0, m.Counts().QueuedLeases);
        Assert.Empty(launcher.All);

        // Zero of an unknown resource and duplicated names that add up within the total are fine.
        m.RequestLease(job, 10, LeasePurpose.Task, [new("no-such-thing", 0), new("CPU", 2 * U), new("CPU", 2 * U)]);
        Assert.False(Errors(sink).ContainsKey(10));
        Assert.Equal(1, m.Counts().QueuedLeases);
        m.RequestLease(job, 11, LeasePurpose.Task, [new("CPU", 3 * U), new("CPU", 2 * U)]);
        Assert.Equal(ClusterErrorCode.Infeasible, Errors(sink)[11].Code);
    }

    [Fact]
    public async Task Workers_start_on_demand_up_to_the_cap_and_actor_workers_do_not_count()
    {
        var launcher = new RecordingLauncher();
        await using var m = NewManager(NewResources(cpus: 8), launcher, prestart: 0, maxWorkers: 2);
        var sink = new ListSink();
        var job = m.RegisterJob(Job(), sink);
        for (ulong r = 1; r <= 4; r++) m.RequestLease(job, r, LeasePurpose.Actor, Cpu(1));
        Assert.Equal(2, launcher.All.Length); // the cap
        Register(m, launcher, 1);
        Register(m, launcher, 2);
        Assert.Equal([1ul, 2ul], Grants(sink).Keys.Order());
        // Both are actors' now: two more may start for the waiting requests.
        Assert.Equal(4, launcher.All.Length);
        Register(m, launcher, 3);
        Register(m, launcher, 4);
        Assert.Equal(4, Grants(sink).Count);
        // An actor's worker is never handed out while its lease is held.
        m.RequestLease(job, 5, LeasePurpose.Task, Cpu(1));
        Assert.Equal(5, launcher.All.Length);
        Register(m, launcher, 5);
        Assert.Equal(5u, Grants(sink)[5].WorkerId);
    }

    [Fact]
    public async Task At_the_cap_an_idle_worker_of_another_job_makes_room()
    {
        var launcher = new RecordingLauncher();
        await using var m = NewManager(NewResources(cpus: 4), launcher, prestart: 2, maxWorkers: 2);
        var a = m.RegisterJob(Job("a"), new ListSink());
        Register(m, launcher, 1);
        Register(m, launcher, 2);
        var sinkB = new ListSink();
        var b = m.RegisterJob(Job("b"), sinkB);
        Assert.Equal(2, launcher.All.Length); // no room to prestart
        m.RequestLease(b, 1, LeasePurpose.Task, Cpu(1));
        Assert.Equal(3, launcher.All.Length);
        Assert.Single(launcher.All, l => l.Process.Killed);
        Assert.Equal(b.Id, launcher.Of(3).Request.JobId);
        Register(m, launcher, 3);
        Assert.Equal(3u, Grants(sinkB)[1].WorkerId);
        Assert.Equal(new LeaseCounts(2, 2, 1, 0, 1), m.Counts());
        _ = a;
    }

    [Fact]
    public async Task A_broken_worker_is_killed_and_a_dead_one_frees_its_lease_and_is_replaced_on_demand()
    {
        var launcher = new RecordingLauncher();
        var resources = NewResources(cpus: 2);
        await using var m = NewManager(resources, launcher, prestart: 2);
        var sink = new ListSink();
        var job = m.RegisterJob(Job(), sink);
        Register(m, launcher, 1);
        Register(m, launcher, 2);
        m.RequestLease(job, 1, LeasePurpose.Task, Cpu(1));
        m.RequestLease(job, 2, LeasePurpose.Task, Cpu(1));
        var grants = Grants(sink);

        m.ReturnLease(job, grants[1].LeaseId, workerBroken: true);
        Assert.True(launcher.Of(grants[1].WorkerId).Process.Killed);
        Assert.Equal(1, resources.Available("CPU"));

        // The other worker's process dies while leased: its resources come back.
        launcher.Of(grants[2].WorkerId).Process.Exit();
        await TestUtil.Eventually(() => resources.Available("CPU") == 2, Wait, () => $"{resources.Available("CPU")} CPU free");
        Assert.Equal(new LeaseCounts(1, 0, 0, 0, 0), m.Counts());
        m.ReturnLease(job, grants[2].LeaseId, false); // the driver returns it late: ignored
        Assert.Equal(2, resources.Available("CPU"));

        // The next request starts a replacement.
        m.RequestLease(job, 3, LeasePurpose.Task, Cpu(1));
        Assert.Equal(3, launcher.All.Length);
        Register(m, launcher, 3);
        Assert.Equal(3u, Grants(sink)[3].WorkerId);
    }

    [Fact]
    public async Task A_worker_whose_connection_closes_is_dead_and_killed()
    {
        var launcher = new RecordingLauncher();
        var resources = NewResources(cpus: 2);
        await using var m = NewManager(resources, launcher, prestart: 1);
        var sink = new ListSink();
        var job = m.RegisterJob(Job(), sink);
        var w = Register(m, launcher, 1);
        m.RequestLease(job, 1, LeasePurpose.Actor, Cpu(2));
        m.WorkerDisconnected(w, "test");
        Assert.True(launcher.Of(1).Process.Killed);
        Assert.Equal(2, resources.Available("CPU"));
        Assert.Equal(WorkerState.Dead, w.State);
        m.WorkerDisconnected(w, "again"); // idempotent
    }

    [Fact]
    public async Task Ending_a_job_kills_its_workers_frees_its_leases_and_drops_its_requests_but_not_other_jobs()
    {
        var launcher = new RecordingLauncher();
        var resources = NewResources(cpus: 2);
        await using var m = NewManager(resources, launcher, prestart: 2);
        var sinkA = new ListSink();
        var a = m.RegisterJob(Job("a"), sinkA);
        Register(m, launcher, 1);
        Register(m, launcher, 2);
        m.RequestLease(a, 1, LeasePurpose.Task, Cpu(1));
        m.RequestLease(a, 2, LeasePurpose.Actor, Cpu(1));
        m.RequestLease(a, 3, LeasePurpose.Task, Cpu(1)); // waits
        var sinkB = new ListSink();
        var b = m.RegisterJob(Job("b"), sinkB);
        Register(m, launcher, 3);
        Register(m, launcher, 4);
        m.RequestLease(b, 1, LeasePurpose.Task, Cpu(2)); // waits for a's resources
        Assert.Equal(0, resources.Available("CPU"));

        m.EndJob(a, "driver exited");
        Assert.All(launcher.All.Where(l => l.Request.JobId == a.Id), l => Assert.True(l.Process.Killed));
        Assert.All(launcher.All.Where(l => l.Request.JobId == b.Id), l => Assert.False(l.Process.Killed));
        Assert.True(Grants(sinkB).ContainsKey(1)); // b got what a held
        Assert.Equal(new LeaseCounts(1, 2, 1, 0, 1), m.Counts());
        m.EndJob(a, "again"); // idempotent
        m.RequestLease(a, 4, LeasePurpose.Task, Cpu(1)); // a late request of an ended job: nothing
        Assert.Equal(0, m.Counts().QueuedLeases);
        Assert.Throws<WorkerRefusedException>(() => m.RegisterWorker(new WorkerRegistration(a.Id, 1, RecordingLauncher.PidBase + 1, "/tmp/x")));
    }

    [Fact]
    public async Task Registrations_for_unknown_jobs_or_ids_wrong_pids_or_twice_are_refused()
    {
        var launcher = new RecordingLauncher();
        await using var m = NewManager(NewResources(), launcher, prestart: 2);
        var job = m.RegisterJob(Job(), new ListSink());
        var pid1 = RecordingLauncher.PidBase + 1;
        Assert.Equal(ClusterErrorCode.NoJob, Assert.Throws<WorkerRefusedException>(() => m.RegisterWorker(new(job.Id + 1, 1, pid1, "s"))).Code);
        Assert.Equal(ClusterErrorCode.ProtocolError, Assert.Throws<WorkerRefusedException>(() => m.RegisterWorker(new(job.Id, 99, pid1, "s"))).Code);
        Assert.Contains("started as pid", Assert.Throws<WorkerRefusedException>(() => m.RegisterWorker(new(job.Id, 1, pid1 + 1, "s"))).Message);
        m.RegisterWorker(new(job.Id, 1, pid1, "s"));
        Assert.Contains("already", Assert.Throws<WorkerRefusedException>(() => m.RegisterWorker(new(job.Id, 1, pid1, "s"))).Message);
        Assert.Equal(new LeaseCounts(1, 2, 1, 0, 0), m.Counts());
    }

    [Fact]
    public async Task Repeated_start_failures_fail_the_waiting_requests_with_WorkerStartFailed()
    {
        var launcher = new RecordingLauncher { FailNext = 100 };
        await using var m = NewManager(NewResources(cpus: 1), launcher, prestart: 0, maxWorkers: 1);
        var sink = new ListSink();
        var job = m.RegisterJob(Job(), sink);
        m.RequestLease(job, 1, LeasePurpose.Task, Cpu(1));
        var (code, message) = Errors(sink)[1];
        Assert.Equal(ClusterErrorCode.WorkerStartFailed, code);
        Assert.Contains("launch failed on purpose", message);
        Assert.Equal(new LeaseCounts(1, 0, 0, 0, 0), m.Counts());

        // Once launches work again, a new request is served.
        launcher.FailNext = 0;
        m.RequestLease(job, 2, LeasePurpose.Task, Cpu(1));
        Register(m, launcher, launcher.All.Single().Request.WorkerId);
        Assert.True(Grants(sink).ContainsKey(2));
    }

    [Fact]
    public async Task A_worker_that_exits_or_never_registers_counts_as_a_start_failure()
    {
        var launcher = new RecordingLauncher();
        await using var m = NewManager(NewResources(cpus: 1), launcher, prestart: 0, maxWorkers: 1, registerTimeout: TimeSpan.FromMilliseconds(100));
        var sink = new ListSink();
        var job = m.RegisterJob(Job(), sink);
        m.RequestLease(job, 1, LeasePurpose.Task, Cpu(1));
        // Each attempt times out (killed) and a replacement starts, three times; then the request fails.
        await TestUtil.Eventually(() => Errors(sink).ContainsKey(1), Wait, () => $"{launcher.All.Length} launches");
        Assert.Equal(ClusterErrorCode.WorkerStartFailed, Errors(sink)[1].Code);
        Assert.Contains("did not register", Errors(sink)[1].Message);
        Assert.Equal(3, launcher.All.Length);
        Assert.All(launcher.All, l => Assert.True(l.Process.Killed));
    }

    [Fact]
    public async Task Disposing_kills_every_worker_and_refuses_new_jobs()
    {
        var launcher = new RecordingLauncher();
        var m = NewManager(NewResources(cpus: 2), launcher, prestart: 2);
        m.RegisterJob(Job(), new ListSink());
        Register(m, launcher, 1);
        await m.DisposeAsync();
        Assert.All(launcher.All, l => Assert.True(l.Process.Killed));
        Assert.Throws<ObjectDisposedException>(() => m.RegisterJob(Job(), new ListSink()));
        Assert.Equal(new LeaseCounts(0, 0, 0, 0, 0), m.Counts());
    }

    [Fact]
    public void Resource_demands_resolve_against_the_table_and_add_up_duplicates()
    {
        var r = NewResources(cpus: 2);
        var d = r.Resolve([new("CPU", U), new("CPU", U / 2), new("GPU", 0)], out var why)!;
        Assert.Null(why);
        Assert.Equal("CPU 1.5", d.ToString());
        Assert.True(r.TryAcquire(d));
        Assert.False(r.TryAcquire(d));
        Assert.False(r.CanAcquire(d));
        r.Release(d);
        Assert.True(r.CanAcquire(d));
        Assert.Null(r.Resolve([new("CPU", long.MaxValue), new("CPU", long.MaxValue)], out why));
        Assert.NotNull(why);
        Assert.Throws<ArgumentException>(() => NewResources().TryAcquire(d)); // another table's demand
    }
}
