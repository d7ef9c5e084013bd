using System.Globalization;
using Ray.Raylet.Session;

namespace Ray.Cluster.Tests;

/// <summary>
/// What a crashed node leaves, and options checked the same way in a connected driver (issue 11).
/// </summary>
[Collection("cluster")]
public sealed class ClusterSessionTests
{
    private const int SigStop = 19;

    [Fact]
    public async Task A_killed_worker_s_socket_is_removed_and_start_after_a_crash_removes_what_the_dead_node_left()
    {
        await using var cluster = await ClusterScope.StartAsync();
        var sockets = Path.Combine(cluster.SessionDir, "sockets");
        var info = AddressFile.TryRead(cluster.AddressFile)!;
        try
        {
            var ray = cluster.Connect();
            try
            {
                // A worker killed with SIGKILL cannot remove its socket: the raylet does once it exits.
                Assert.Equal(3, await ray.Task(Fns.Add).Remote(1, 2));
                var workerSockets = Directory.GetFiles(sockets, "worker_*");
                Assert.NotEmpty(workerSockets);
                foreach (var pid in cluster.WorkerPids()) ClusterScope.Kill(pid);
                Assert.True(await ClusterScope.WaitUntilAsync(() => !workerSockets.Any(File.Exists), TimeSpan.FromSeconds(10)),
                    "sockets of killed workers are left: " + string.Join(", ", workerSockets.Where(File.Exists)));

                // The node crashes: SIGKILL for the raylet while its workers are stopped, so nobody
                // removes anything.
                Assert.Equal(5, await ray.Task(Fns.Add).Remote(2, 3));
                var workers = cluster.WorkerPids();
                Assert.NotEmpty(workers);
                foreach (var pid in workers) RayletProcess.Signal(pid, SigStop);
                ClusterScope.Kill(cluster.RayletPid);
                Assert.True(await RayletProcess.WaitForExitAsync(cluster.RayletPid, TimeSpan.FromSeconds(10)));
                foreach (var pid in workers) ClusterScope.Kill(pid);
                foreach (var pid in workers) Assert.True(await RayletProcess.WaitForExitAsync(pid, TimeSpan.FromSeconds(10)));
            }
            finally
            {
                try { ray.Dispose(); } catch (RayException) { }
            }
            var leftovers = new List<string> { info.ObjectStorePath, info.PlasmaSocket, cluster.AddressFile };
            leftovers.AddRange(Directory.GetFiles(sockets, "worker_*"));
            Assert.True(leftovers.Count >= 4, string.Join(", ", leftovers));
            foreach (var f in leftovers) Assert.True(File.Exists(f), f + " was not left by the crash");

            // `ray start` again on the same session removes them, and the new node works.
            var (code, output) = await ClusterScope.RunRayAsync(["start", "--head", "--port", "0", "--session-dir", cluster.SessionDir,
                "--num-cpus", "2", "--object-store-memory", (64 << 20).ToString(CultureInfo.InvariantCulture)]);
            var restarted = AddressFile.TryRead(cluster.AddressFile);
            try
            {
                Assert.True(code == 0, output);
                Assert.Contains($"The previous raylet of session {cluster.SessionDir} (pid {info.Pid}) is not running; removed", output);
                // (The store's socket path is reused by the new raylet, so only the others can be seen gone.)
                foreach (var f in leftovers.Where(f => f != cluster.AddressFile && f != info.PlasmaSocket)) Assert.False(File.Exists(f), f + " is still there after ray start");
                Assert.NotNull(restarted);
                Assert.NotEqual(info.Pid, restarted!.Pid);
                await using var again = RayRuntime.Connect(cluster.SessionDir);
                Assert.Equal(7, await again.Task(Fns.Add).Remote(3, 4));
            }
            finally
            {
                if (restarted is not null && restarted.Pid != info.Pid)
                {
                    await ClusterScope.RunRayAsync(["stop", "--session-dir", cluster.SessionDir]);
                    if (RayletProcess.IsRaylet(restarted.Pid)) ClusterScope.Kill(restarted.Pid);
                    try { File.Delete(restarted.ObjectStorePath); } catch (IOException) { }
                }
            }
        }
        finally
        {
            try { File.Delete(info.ObjectStorePath); } catch (IOException) { } // the first raylet's arena, if the test failed before start removed it
        }
    }

    [Fact]
    public async Task A_connected_driver_refuses_non_finite_resources_and_retry_counts_below_minus_one_at_the_call()
    {
        await using var cluster = await ClusterScope.StartAsync();
        await using var ray = cluster.Connect();
        var nan = Assert.Throws<ArgumentException>(() => ray.Task(Fns.Add).Options(new TaskOptions { NumCpus = double.NaN }).Remote(1, 2));
        Assert.Contains("Task Fns.Add: NumCpus is NaN", nan.Message);
        var inf = Assert.Throws<ArgumentException>(() =>
            ray.Task(Fns.Add).Options(new TaskOptions { Resources = new Dictionary<string, double> { ["acc"] = double.PositiveInfinity } }).Remote(1, 2));
        Assert.Contains("resource 'acc' is +infinity", inf.Message);
        var retries = Assert.Throws<ArgumentOutOfRangeException>(() => ray.Task(Fns.Add).Options(new TaskOptions { MaxRetries = -3 }).Remote(1, 2));
        Assert.Contains("MaxRetries is -3", retries.Message);
        var restarts = Assert.Throws<ArgumentOutOfRangeException>(() => ray.Actor<Counter>(new ActorOptions { MaxRestarts = -2 }).Remote(0L));
        Assert.Contains("Actor Counter: MaxRestarts is -2", restarts.Message);
        var actorNan = Assert.Throws<ArgumentException>(() => ray.Actor<Counter>(new ActorOptions { NumGpus = double.NaN }).Remote(0L));
        Assert.Contains("Actor Counter: NumGpus is NaN", actorNan.Message);
        var runtime = Assert.Throws<ArgumentException>(() => RayRuntime.Connect(cluster.SessionDir, new RuntimeOptions { NumCpus = double.PositiveInfinity }));
        Assert.Contains("RuntimeOptions: NumCpus is +infinity", runtime.Message);
        // Nothing was sent: the driver still works.
        Assert.Equal(3, await ray.Task(Fns.Add).Remote(1, 2));
    }
}
