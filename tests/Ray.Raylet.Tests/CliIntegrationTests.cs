using System.Text.RegularExpressions;
using Ray.Raylet.Session;

namespace Ray.Raylet.Tests;

/// <summary>The real `ray` CLI against a real raylet process on loopback, each test with its own session.</summary>
public class CliIntegrationTests
{
    [Fact]
    public async Task Start_writes_the_address_file_status_reports_the_node_and_stop_ends_the_process()
    {
        await using var scope = new RayletScope();
        var (info, start) = await scope.StartAsync("--num-cpus", "3", "--num-gpus", "1", "--resources", "{\"accelerator\": 2, \"disk\": 0.5}");

        // start: the address printed, the address file complete and private.
        Assert.Contains("RAY_ADDRESS=" + info.Address, start.Stdout);
        Assert.Matches(@"^127\.0\.0\.1:\d+$", info.Address);
        Assert.Matches("^[0-9a-f]{32}$", info.Token);
        Assert.Matches("^[0-9a-f]{32}$", info.NodeId);
        Assert.Equal(scope.Session.Directory, info.SessionDir);
        Assert.Equal(1u, info.ProtocolVersion);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(scope.Session.AddressFile));
        Assert.True(RayletProcess.IsRaylet(info.Pid), $"pid {info.Pid} is not a running raylet");
        Assert.True(File.Exists(info.PlasmaSocket), info.PlasmaSocket);
        Assert.True(File.Exists(info.ObjectStorePath), info.ObjectStorePath);
        Assert.Contains("listening on " + info.Address, scope.Log());

        // status from the session's address file.
        var status = await scope.RunAsync(["status", "--session-dir", scope.SessionDir]);
        Assert.True(status.ExitCode == 0, status.Describe());
        foreach (var expected in new[]
        {
            "Cluster status: " + info.Address, info.NodeId + " " + info.Address + " (head, alive)", "Nodes: 1 (1 alive)",
            "0.0/3.0 CPU", "0.0/1.0 GPU", "0.0/2.0 accelerator", "0.0/0.5 disk", "0B/16.00MiB object_store_memory",
            "Jobs: 0", "Workers: 0 (0 idle, 0 leased)", "Queued tasks: 0", "Objects: 0 (0B of 16.00MiB shared memory used, 0B spilled)", "Clients: 1",
        })
            Assert.True(status.Stdout.Contains(expected, StringComparison.Ordinal), $"missing '{expected}' in\n{status.Stdout}");
        Assert.Matches(@"\d+(\.\d+)?[KMGT]iB memory", status.Stdout);

        // status from RAY_ADDRESS + RAY_CLUSTER_TOKEN (no address file involved: the session
        // named does not exist), and with a wrong token.
        var elsewhere = Path.Combine(scope.SessionDir, "no-such-session");
        var env = await scope.RunAsync(["status", "--address", info.Address, "--session-dir", elsewhere], new Dictionary<string, string> { ["RAY_CLUSTER_TOKEN"] = info.Token });
        Assert.True(env.ExitCode == 0, env.Describe());
        Assert.Contains("0.0/3.0 CPU", env.Stdout);
        var viaEnv = await scope.RunAsync(["status", "--session-dir", elsewhere, "--address", info.Address], new Dictionary<string, string> { ["RAY_CLUSTER_TOKEN"] = new string('0', 32) });
        Assert.True(viaEnv.ExitCode == 1, viaEnv.Describe());
        Assert.Contains("wrong cluster token", viaEnv.Stderr);
        var noToken = await scope.RunAsync(["status", "--address", info.Address, "--session-dir", elsewhere]);
        Assert.True(noToken.ExitCode == 1, noToken.Describe());
        Assert.Contains("RAY_CLUSTER_TOKEN", noToken.Stderr);

        // A second start for the same session is refused; the first raylet is untouched.
        var again = await scope.RunAsync(["start", "--head", "--port", "0", "--session-dir", scope.SessionDir]);
        Assert.True(again.ExitCode == 1, again.Describe());
        Assert.Contains("already running", again.Stderr);
        Assert.True(RayletProcess.IsRaylet(info.Pid));

        // stop: graceful, the pid is gone, and so are the address file, socket and shared memory.
        var stop = await scope.RunAsync(["stop", "--session-dir", scope.SessionDir]);
        Assert.True(stop.ExitCode == 0, stop.Describe());
        Assert.Contains($"Stopped the raylet (pid {info.Pid}, gracefully)", stop.Stdout);
        Assert.False(RayletProcess.IsAlive(info.Pid), $"pid {info.Pid} is still alive after ray stop");
        Assert.False(File.Exists(scope.Session.AddressFile));
        Assert.False(File.Exists(info.PlasmaSocket));
        Assert.False(File.Exists(info.ObjectStorePath));
        Assert.Contains("Shutdown requested: Shutdown message", scope.Log());

        var after = await scope.RunAsync(["status", "--session-dir", scope.SessionDir]);
        Assert.True(after.ExitCode == 1, after.Describe());
        Assert.Contains("no raylet found", after.Stderr);
        var stopAgain = await scope.RunAsync(["stop", "--session-dir", scope.SessionDir]);
        Assert.True(stopAgain.ExitCode == 0, stopAgain.Describe());
        Assert.Contains("No raylet is running", stopAgain.Stdout);
    }

    [Fact]
    public async Task Stop_kills_a_raylet_that_does_not_answer_and_cleans_up_after_a_crashed_one()
    {
        await using var scope = new RayletScope();

        // A raylet that cannot answer (SIGSTOP): no Hello reply, SIGTERM stays pending, so stop
        // must fall back to SIGKILL after the grace period.
        var (info, _) = await scope.StartAsync();
        Assert.True(RayletProcess.Signal(info.Pid, 19 /* SIGSTOP */));
        var stop = await scope.RunAsync(["stop", "--session-dir", scope.SessionDir, "--grace-period", "1"]);
        Assert.True(stop.ExitCode == 0, stop.Describe());
        Assert.Contains("killing it", stop.Stdout);
        Assert.Contains($"Stopped the raylet (pid {info.Pid}, killed)", stop.Stdout);
        Assert.False(RayletProcess.IsAlive(info.Pid));
        Assert.False(File.Exists(scope.Session.AddressFile));
        Assert.False(File.Exists(info.ObjectStorePath), "the killed raylet's shared memory was left behind");

        // A raylet that crashed (SIGKILL): its address file is stale. Start replaces it; stop
        // of a dead raylet only removes its files.
        var (second, _) = await scope.StartAsync();
        Assert.NotEqual(info.Pid, second.Pid);
        RayletProcess.Signal(second.Pid, RayletProcess.SigKill);
        Assert.True(await RayletProcess.WaitForExitAsync(second.Pid, TimeSpan.FromSeconds(10)));
        var (third, _) = await scope.StartAsync();
        Assert.True(RayletProcess.IsRaylet(third.Pid));
        RayletProcess.Signal(third.Pid, RayletProcess.SigKill);
        Assert.True(await RayletProcess.WaitForExitAsync(third.Pid, TimeSpan.FromSeconds(10)));
        var stale = await scope.RunAsync(["stop", "--session-dir", scope.SessionDir]);
        Assert.True(stale.ExitCode == 0, stale.Describe());
        Assert.Contains("is not running; removed its stale address file", stale.Stdout);
        Assert.False(File.Exists(scope.Session.AddressFile));
        Assert.False(File.Exists(third.ObjectStorePath));
    }

    [Theory]
    [InlineData(new[] { "start", "--port", "0" }, "give --head to start a new cluster")]
    [InlineData(new[] { "start", "--head", "--port", "0", "--resources", "not json" }, "--resources is not valid JSON")]
    [InlineData(new[] { "start", "--head", "--port", "0", "--resources", "[1, 2]" }, "must be a JSON object")]
    [InlineData(new[] { "start", "--head", "--port", "0", "--resources", "{\"CPU\": 4}" }, "use --num-cpus")]
    [InlineData(new[] { "start", "--head", "--port", "0", "--resources", "{\"x\": -1}" }, "at least 0")]
    [InlineData(new[] { "start", "--head", "--port", "0", "--resources", "{\"x\": 1e999}" }, "'x' is 1e999, not a finite number")]
    [InlineData(new[] { "start", "--head", "--port", "70000" }, "outside 0..65535")]
    [InlineData(new[] { "start", "--head", "--port", "0", "--object-store-memory", "5" }, "below the minimum")]
    [InlineData(new[] { "start", "--head", "--port", "0", "--node-ip-address", "not-an-ip" }, "not an IP address")]
    [InlineData(new[] { "start", "--head", "--port", "0", "--num-cpus", "-1" }, "--num-cpus must be at least 0")]
    [InlineData(new[] { "start", "--head", "--port", "abc" }, "abc")]
    [InlineData(new[] { "start", "--head", "--port", "0", "--idle-worker-timeout-ms", "-5" }, "--idle-worker-timeout-ms -5 is negative")]
    [InlineData(new[] { "stop", "--grace-period", "-3" }, "--grace-period must be at least 0")]
    public async Task Bad_options_fail_with_a_message_and_start_nothing(string[] args, string message)
    {
        await using var scope = new RayletScope();
        var result = await scope.RunAsync([.. args, "--session-dir", scope.SessionDir]);
        Assert.True(result.ExitCode != 0, result.Describe());
        Assert.True(result.Stderr.Contains(message, StringComparison.Ordinal), result.Describe());
        Assert.False(File.Exists(scope.Session.AddressFile));
    }

    [Fact]
    public async Task Start_on_a_port_in_use_fails_with_the_reason_and_leaves_nothing_running()
    {
        await using var scope = new RayletScope();
        using var squatter = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        squatter.Start();
        var port = ((System.Net.IPEndPoint)squatter.LocalEndpoint).Port;
        var result = await scope.RunAsync(["start", "--head", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--session-dir", scope.SessionDir, "--object-store-memory", "4194304"]);
        Assert.True(result.ExitCode == 1, result.Describe());
        Assert.Contains($"cannot listen on 127.0.0.1:{port}", result.Stderr); // from the log tail
        Assert.Contains("exited with code 1 before it was listening", result.Stderr);
        Assert.False(File.Exists(scope.Session.AddressFile));
        await TestUtil.Eventually(() => scope.FindBySession().Count == 0, TimeSpan.FromSeconds(5), () => "a raylet process is left");
    }

    [Fact]
    public async Task Help_lists_every_command_and_option()
    {
        var root = await RayCliProcess.RunAsync(["--help"]);
        Assert.Equal(0, root.ExitCode);
        foreach (var c in new[] { "start", "status", "stop" }) Assert.Matches(new Regex($@"^\s+{c}\s", RegexOptions.Multiline), root.Stdout);
        Assert.DoesNotMatch(new Regex(@"^\s+raylet\s", RegexOptions.Multiline), root.Stdout); // the daemon's entry is hidden
    }
}
