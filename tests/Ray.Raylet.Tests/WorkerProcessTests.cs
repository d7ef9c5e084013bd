using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging.Abstractions;
using Ray.Cluster.Wire;
using Ray.Raylet.Client;
using Ray.Contract.Messages;
using Ray.Raylet.Node;
using Ray.Raylet.Session;
using Ray.Raylet.Workers;
using static Ray.Raylet.Tests.LeaseKit;

namespace Ray.Raylet.Tests;

/// <summary>
/// Real processes: the process launcher (with a stand-in script that records its arguments and
/// environment, then sleeps), a node in this process starting and killing them, and a real
/// `ray start` raylet running real `ray worker` processes. Every pid seen is SIGKILLed at the end.
/// </summary>
public sealed partial class WorkerProcessTests : IAsyncDisposable
{
    private const string Token = "0123456789abcdef0123456789abcdef";

    // Prints its pid, the token from its environment and its arguments, then becomes `sleep`
    // (same pid), as a worker that never registers would.
    private static readonly string[] FakeWorker =
        ["/bin/sh", "-c", "echo \"pid=$$ token=${RAY_CLUSTER_TOKEN:-none} address=${RAY_ADDRESS:-none}\"; echo \"args=$*\"; exec sleep 120", "fake-worker"];

    private readonly string _dir = Path.Combine("/tmp", "rlt-wp-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly HashSet<int> _pids = [];

    public async ValueTask DisposeAsync()
    {
        foreach (var pid in _pids)
        {
            if (!RayletProcess.IsAlive(pid)) continue;
            RayletProcess.Signal(pid, RayletProcess.SigKill);
            await RayletProcess.WaitForExitAsync(pid, TimeSpan.FromSeconds(5));
        }
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    [GeneratedRegex(@"pid=(\d+) token=(\S+) address=(\S+)\nargs=(.*)\n")]
    private static partial Regex LogLine();

    private async Task<(int Pid, string Token, string Address, string Args)> ReadFakeLogAsync(string logFile)
    {
        Match? m = null;
        await TestUtil.Eventually(() => File.Exists(logFile) && (m = LogLine().Match(File.ReadAllText(logFile))).Success,
            TimeSpan.FromSeconds(20), () => $"{logFile}: {(File.Exists(logFile) ? File.ReadAllText(logFile) : "missing")}");
        var pid = int.Parse(m!.Groups[1].Value, CultureInfo.InvariantCulture);
        _pids.Add(pid);
        return (pid, m.Groups[2].Value, m.Groups[3].Value, m.Groups[4].Value);
    }

    [Fact]
    public async Task The_launcher_passes_the_arguments_and_the_token_in_the_environment_only_and_kills_by_pid()
    {
        Directory.CreateDirectory(_dir);
        var log = Path.Combine(_dir, "worker-3-4.out");
        var process = new WorkerProcessLauncher(FakeWorker).Launch(new WorkerLaunchRequest
        {
            RayletAddress = "127.0.0.1:6379",
            Token = Token,
            JobId = 3,
            WorkerId = 4,
            SessionDir = _dir,
            PlasmaSocket = "/tmp/p.sock",
            CodePaths = ["/code/a", "/code/b c.dll"],
            LogFile = log,
        });
        _pids.Add(process.Pid);
        var (pid, token, address, args) = await ReadFakeLogAsync(log);
        Assert.Equal(process.Pid, pid); // one pid from the launch script to the worker
        Assert.Equal(Token, token);
        Assert.Equal("none", address);
        Assert.Equal($"--raylet-address 127.0.0.1:6379 --job-id 3 --worker-id 4 --session-dir {_dir} --plasma-socket /tmp/p.sock --code-path /code/a --code-path /code/b c.dll", args);
        Assert.DoesNotContain(Token, await File.ReadAllTextAsync($"/proc/{pid}/cmdline"));

        Assert.Equal(["--raylet-address", "h:1", "--job-id", "1", "--worker-id", "2", "--session-dir", "/s"],
            WorkerProcessLauncher.Arguments(new WorkerLaunchRequest { RayletAddress = "h:1", Token = "t", JobId = 1, WorkerId = 2, SessionDir = "/s", LogFile = "/l" }));

        process.Kill();
        await process.Exited.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(RayletProcess.IsAlive(pid));
        process.Kill(); // gone already: harmless
        process.Dispose();
    }

    [Fact]
    public async Task A_node_prestarts_real_worker_processes_for_a_job_and_kills_them_when_the_driver_disconnects()
    {
        var node = NodeManager.Start(new RayletOptions
        {
            SessionDir = _dir,
            NumCpus = 2,
            ObjectStoreMemoryBytes = 4 << 20,
            WorkerLauncher = new WorkerProcessLauncher(FakeWorker),
        }, NullLoggerFactory.Instance);
        await using (node)
        {
            var session = new SessionLayout(_dir);
            var driver = await RayletClient.ConnectAsync(node.Address, node.ClusterToken);
            var job = await driver.RegisterJobAsync(Job("prestart", "/code"));
            Assert.Equal(node.NodeId.ToString(), job.NodeId);
            Assert.Equal(session.Directory, job.SessionDir);
            Assert.Equal(node.PlasmaSocketPath, job.PlasmaSocket);

            var pids = new List<int>();
            for (uint w = 1; w <= 2; w++) // prestarted up to the CPU count
            {
                var (pid, token, _, args) = await ReadFakeLogAsync(Path.Combine(session.LogsDirectory, $"worker-{job.JobId}-{w}.out"));
                Assert.Equal(node.ClusterToken, token);
                Assert.StartsWith($"--raylet-address {node.Address} --job-id {job.JobId} --worker-id {w} --session-dir {session.Directory}", args);
                Assert.EndsWith("--code-path /code", args);
                pids.Add(pid);
            }
            await using (var status = await RayletClient.ConnectAsync(node.Address, node.ClusterToken))
            {
                var report = await status.GetStatusAsync();
                Assert.Equal((1, 2, 0), (report.Jobs, report.Workers, report.IdleWorkers));
            }

            await driver.DisposeAsync(); // the driver exits: its job ends
            foreach (var pid in pids)
                Assert.True(await RayletProcess.WaitForExitAsync(pid, TimeSpan.FromSeconds(10)), $"worker pid {pid} outlived its job");
            await TestUtil.Eventually(() => node.GetStatus() is { Jobs: 0, Workers: 0 }, TimeSpan.FromSeconds(10), () => node.GetStatus().ToString());
        }
    }

    [Fact]
    public async Task Ray_worker_without_the_token_in_its_environment_refuses_to_run()
    {
        var result = await RayCliProcess.RunAsync(["worker", "--raylet-address", "127.0.0.1:1", "--job-id", "1", "--worker-id", "1", "--session-dir", "/tmp"]);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("RAY_CLUSTER_TOKEN", result.Stderr);
    }

    [Fact]
    public async Task A_real_raylet_starts_real_workers_that_register_and_are_leased_then_killed_with_the_job()
    {
        await using var scope = new RayletScope();
        var (info, _) = await scope.StartAsync("--num-cpus", "1");
        try
        {
            await using var driver = await RayletClient.ConnectAsync(info.Address, info.Token);
            var job = await driver.RegisterJobAsync(Job("e2e"));
            LeaseGrant grant;
            try { grant = await driver.RequestLeaseAsync(LeasePurpose.Task, Cpu(1), TimeSpan.FromSeconds(45)); }
            catch (Exception e) when (e is RayletException or TimeoutException)
            {
                var logs = Directory.GetFiles(scope.Session.LogsDirectory).Select(f => $"--- {f}\n{File.ReadAllText(f)}");
                throw new Xunit.Sdk.XunitException($"no lease: {e.Message}\n{string.Join('\n', logs)}");
            }
            _pids.Add(grant.Pid);
            Assert.True(RayletProcess.IsAlive(grant.Pid));
            var cmdline = (await File.ReadAllTextAsync($"/proc/{grant.Pid}/cmdline")).Split('\0');
            Assert.Contains("worker", cmdline);
            Assert.Contains(job.JobId.ToString(CultureInfo.InvariantCulture), cmdline);
            Assert.DoesNotContain(info.Token, cmdline);
            Assert.True(File.Exists(Path.Combine(scope.Session.LogsDirectory, $"worker-{job.JobId}-{grant.WorkerId}.out")));

            await using (var status = await RayletClient.ConnectAsync(info.Address, info.Token))
            {
                var report = await status.GetStatusAsync();
                Assert.Equal((1, 1, 1), (report.Jobs, report.Workers, report.Leases));
                Assert.Equal(new ResourceUsage("CPU", 1, 1), report.Nodes[0].Resources.Single(r => r.Name == "CPU"));
                var text = await scope.RunAsync(["status", "--session-dir", scope.SessionDir]);
                Assert.Contains("Jobs: 1", text.Stdout);
                Assert.Contains("Workers: 1 (0 idle, 1 leased)", text.Stdout);
            }

            await driver.DisposeAsync();
            Assert.True(await RayletProcess.WaitForExitAsync(grant.Pid, TimeSpan.FromSeconds(10)), "the worker outlived its driver");
            await using var after = await RayletClient.ConnectAsync(info.Address, info.Token);
            await TestUtil.EventuallyAsync(async () => await after.GetStatusAsync() is { Jobs: 0, Workers: 0, Leases: 0 }, TimeSpan.FromSeconds(10), () => "job still listed");
        }
        finally
        {
            foreach (var pid in scope.FindWorkers()) _pids.Add(pid);
        }
    }
}
