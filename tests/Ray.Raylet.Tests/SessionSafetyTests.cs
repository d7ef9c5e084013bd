using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Ray.Contract.Session;
using Ray.Raylet.Session;

namespace Ray.Raylet.Tests;

/// <summary>
/// Session files another user could plant (issue 11, "Files and sessions"): the session root
/// ($TMPDIR/ray, shared by the CLI and drivers), the latest-session link and address files are
/// used only when they are this user's and nobody else may write to them. The real `ray` CLI
/// runs as a process with its own TMPDIR; foreign files are made with chown (tests run as root;
/// without the right to chown, those checks are skipped).
/// </summary>
public class SessionSafetyTests
{
    private const int ForeignUid = 12345;

    [Fact]
    public async Task A_raylet_holds_its_sessions_lock_so_no_second_raylet_or_cleanup_touches_its_files()
    {
        await using var scope = new RayletScope();
        var session = new SessionLayout(scope.SessionDir).EnsureCreated();
        // Something live holds the lock (a raylet that has not written its address file yet):
        // `ray start` refuses and leaves the session's sockets alone.
        var socket = Path.Combine(session.SocketsDirectory, "plasma_store");
        Directory.CreateDirectory(session.SocketsDirectory);
        using (var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            listener.Bind(new UnixDomainSocketEndPoint(socket));
            using (var held = SessionLock.TryAcquire(session))
            {
                Assert.NotNull(held);
                Assert.Null(SessionLock.TryAcquire(session)); // taken: not twice
                var refused = await scope.RunAsync(["start", "--head", "--port", "0", "--session-dir", scope.SessionDir, "--object-store-memory", (16 << 20).ToString(CultureInfo.InvariantCulture)]);
                Assert.True(refused.ExitCode != 0, refused.Describe());
                Assert.Contains("starting or running", refused.Describe());
                Assert.True(File.Exists(socket), "ray start deleted a live raylet's socket");
                Assert.False(File.Exists(session.AddressFile));
            }
        }

        // A running raylet holds it: a second raylet in the same session is refused; once the first
        // stops, the lock is free again.
        var node = Ray.Raylet.Node.NodeManager.Start(new Ray.Raylet.Node.RayletOptions { SessionDir = scope.SessionDir, NumCpus = 1, ObjectStoreMemoryBytes = 8 << 20 },
            Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);
        await using (node)
        {
            var second = Assert.Throws<IOException>(() => Ray.Raylet.Node.NodeManager.Start(
                new Ray.Raylet.Node.RayletOptions { SessionDir = scope.SessionDir, NumCpus = 1, ObjectStoreMemoryBytes = 8 << 20 },
                Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance));
            Assert.Contains("another raylet", second.Message);
            Assert.True(File.Exists(session.AddressFile), "the refused raylet touched the running one's address file");
        }
        using var free = SessionLock.TryAcquire(session);
        Assert.NotNull(free);
    }

    [Fact]
    public async Task The_cli_keeps_default_sessions_under_TMPDIR_where_drivers_look_and_status_and_stop_find_them()
    {
        await using var scope = new RayletScope();
        var env = new Dictionary<string, string> { ["TMPDIR"] = scope.SessionDir };
        var root = Path.Combine(scope.SessionDir, "ray");
        var start = await scope.RunAsync(["start", "--head", "--port", "0", "--object-store-memory", (16 << 20).ToString(CultureInfo.InvariantCulture)], env);
        var info = AddressFile.TryRead(Path.Combine(root, "session_latest", "raylet.json"));
        if (info is not null) scope.Track(info);
        Assert.True(start.ExitCode == 0, start.Describe());
        Assert.NotNull(info);
        Assert.StartsWith(root + "/session_", info!.SessionDir);
        // The root is created private.
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(root));
        // A driver resolves "auto" under the same root (its default root is $TMPDIR/ray too).
        Assert.Equal(Path.Combine(Path.GetTempPath().TrimEnd('/'), "ray"), SessionPaths.DefaultRoot);
        var resolved = ClusterAddress.Resolve("auto", null, root);
        Assert.Equal(info.Address, resolved.Address);
        Assert.Equal(info.Token, resolved.Token);

        var status = await scope.RunAsync(["status"], env);
        Assert.True(status.ExitCode == 0, status.Describe());
        Assert.Contains("Cluster status: " + info.Address, status.Stdout);
        var stop = await scope.RunAsync(["stop"], env);
        Assert.True(stop.ExitCode == 0, stop.Describe());
        Assert.Contains($"Stopped the raylet (pid {info.Pid}", stop.Stdout);
        Assert.False(RayletProcess.IsAlive(info.Pid));
    }

    [Fact]
    public async Task A_session_root_owned_by_another_user_or_writable_by_others_is_refused()
    {
        await using var scope = new RayletScope();
        var env = new Dictionary<string, string> { ["TMPDIR"] = scope.SessionDir };
        var root = Path.Combine(scope.SessionDir, "ray");
        Directory.CreateDirectory(root);

        File.SetUnixFileMode(root, (UnixFileMode)0x1FF); // 0777
        var writable = await scope.RunAsync(["start", "--head", "--port", "0", "--object-store-memory", "4194304"], env);
        Assert.True(writable.ExitCode == 1, writable.Describe());
        Assert.Contains($"the session root {root}", writable.Stderr);
        Assert.Contains("lets other users write to it", writable.Stderr);
        Assert.Empty(scope.FindBySession());
        var status = await scope.RunAsync(["status"], env);
        Assert.True(status.ExitCode == 1, status.Describe());
        Assert.Contains("lets other users write to it", status.Stderr);
        var driver = Assert.Throws<SessionAccessException>(() => ClusterAddress.Resolve("auto", null, root));
        Assert.Contains("lets other users write to it", driver.Message);

        File.SetUnixFileMode(root, (UnixFileMode)0x1C0); // 0700
        if (!Chown(root, ForeignUid)) return;
        var foreign = await scope.RunAsync(["start", "--head", "--port", "0", "--object-store-memory", "4194304"], env);
        Assert.True(foreign.ExitCode == 1, foreign.Describe());
        Assert.Contains($"owned by uid {ForeignUid}, not by this user", foreign.Stderr);
        Assert.Empty(scope.FindBySession());
        Assert.Empty(Directory.GetFileSystemEntries(root)); // nothing created in it
        var stop = await scope.RunAsync(["stop"], env);
        Assert.True(stop.ExitCode == 1, stop.Describe());
        Assert.Contains($"owned by uid {ForeignUid}", stop.Stderr);
        Assert.Throws<SessionAccessException>(() => ClusterAddress.Resolve(null, null, root));
    }

    [Fact]
    public async Task An_address_file_or_latest_link_of_another_user_is_never_followed()
    {
        await using var scope = new RayletScope();
        // Another user's "session": an address file naming a listener of theirs (here, ours, to
        // see whether anything connects) and a file of ours as its "object store".
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var evil = Path.Combine(scope.SessionDir, "evil");
        Directory.CreateDirectory(evil);
        var victim = Path.Combine(scope.SessionDir, SessionLeftovers.ArenaPrefix + "victim");
        File.WriteAllText(victim, "precious");
        var evilFile = Path.Combine(evil, "raylet.json");
        AddressFile.Write(evilFile, new RayletAddressInfo
        {
            Address = "127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture),
            Token = new string('a', 32),
            Pid = 999_999_9,
            NodeId = new string('0', 32),
            SessionDir = evil,
            PlasmaSocket = victim,
            ObjectStorePath = victim,
        });
        if (!Chown(evilFile, ForeignUid)) return;

        // The CLI: status would send the token there, stop would delete the victim.
        var status = await scope.RunAsync(["status", "--session-dir", evil]);
        Assert.True(status.ExitCode == 1, status.Describe());
        Assert.Contains($"the address file {evilFile}", status.Stderr);
        Assert.Contains($"owned by uid {ForeignUid}", status.Stderr);
        var stop = await scope.RunAsync(["stop", "--session-dir", evil]);
        Assert.True(stop.ExitCode == 1, stop.Describe());
        Assert.Contains($"owned by uid {ForeignUid}", stop.Stderr);
        Assert.True(File.Exists(victim), "ray stop deleted a file named by another user's address file");
        Assert.True(File.Exists(evilFile));
        var start = await scope.RunAsync(["start", "--head", "--port", "0", "--session-dir", evil, "--object-store-memory", "4194304"]);
        Assert.True(start.ExitCode == 1, start.Describe());
        Assert.Contains($"owned by uid {ForeignUid}", start.Stderr);
        Assert.True(File.Exists(victim));

        // A driver given that session (as RAY_ADDRESS or an argument) refuses before connecting.
        var driver = Assert.Throws<RayClusterException>(() => RayRuntime.Connect(evil));
        Assert.Contains($"owned by uid {ForeignUid}", driver.Message);
        Assert.Throws<RayClusterException>(() => RayRuntime.Connect(evilFile));

        // The latest-session link: ours to a directory of theirs, then theirs to a session of ours.
        var root = Path.Combine(scope.SessionDir, "ray");
        Directory.CreateDirectory(root);
        var link = Path.Combine(root, SessionPaths.LatestLinkName);
        File.CreateSymbolicLink(link, evil);
        Assert.True(Chown(evil, ForeignUid));
        var viaLink = Assert.Throws<SessionAccessException>(() => ClusterAddress.Resolve(null, null, root));
        Assert.Contains($"owned by uid {ForeignUid}", viaLink.Message);
        var env = new Dictionary<string, string> { ["TMPDIR"] = scope.SessionDir };
        var statusViaLink = await scope.RunAsync(["status"], env);
        Assert.True(statusViaLink.ExitCode == 1, statusViaLink.Describe());
        Assert.Contains($"owned by uid {ForeignUid}", statusViaLink.Stderr);
        var stopViaLink = await scope.RunAsync(["stop"], env);
        Assert.True(stopViaLink.ExitCode == 1, stopViaLink.Describe());
        Assert.True(File.Exists(victim));

        File.Delete(link);
        var mine = Path.Combine(scope.SessionDir, "mine");
        Directory.CreateDirectory(mine);
        File.CreateSymbolicLink(link, mine);
        Assert.True(Chown(link, ForeignUid, link: true));
        var foreignLink = Assert.Throws<SessionAccessException>(() => ClusterAddress.Resolve(null, null, root));
        Assert.Contains("a link owned by uid " + ForeignUid.ToString(CultureInfo.InvariantCulture), foreignLink.Message);

        // A host:port with no token never takes one from an untrusted latest session.
        File.Delete(link);
        File.CreateSymbolicLink(link, evil);
        var bare = ClusterAddress.Resolve("127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture), null, root);
        Assert.Null(bare.Token);

        Assert.False(listener.Pending(), "something connected to the address another user's file named");
    }

    [Fact]
    public async Task Start_with_a_session_dir_prints_an_address_that_works_as_printed_and_status_and_stop_say_what_to_pass()
    {
        await using var scope = new RayletScope();
        var (info, start) = await scope.StartAsync();
        var match = Regex.Match(start.Stdout, @"^\s*export RAY_ADDRESS=(\S+)\s*$", RegexOptions.Multiline);
        Assert.True(match.Success, start.Describe());
        var printed = match.Groups[1].Value;

        // Followed as printed, with nothing else set: status, a driver and stop find the raylet.
        var isolated = Path.Combine(scope.SessionDir, "tmp"); // no default sessions here
        Directory.CreateDirectory(isolated);
        var env = new Dictionary<string, string> { ["RAY_ADDRESS"] = printed, ["TMPDIR"] = isolated };
        var status = await scope.RunAsync(["status"], env);
        Assert.True(status.ExitCode == 0, status.Describe());
        Assert.Contains("Cluster status: " + info.Address, status.Stdout);
        using (var driver = RayRuntime.Connect(printed))
            Assert.True(driver.IsConnected);

        // Without RAY_ADDRESS, both say exactly what to pass.
        var noEnv = new Dictionary<string, string> { ["TMPDIR"] = isolated };
        var statusBare = await scope.RunAsync(["status"], noEnv);
        Assert.True(statusBare.ExitCode == 1, statusBare.Describe());
        Assert.Contains("RAY_ADDRESS=DIR", statusBare.Stderr);
        var stopBare = await scope.RunAsync(["stop"], noEnv);
        Assert.True(stopBare.ExitCode == 0, stopBare.Describe());
        Assert.Contains("ray stop --session-dir DIR", stopBare.Stdout);
        Assert.True(RayletProcess.IsRaylet(info.Pid));

        // A host:port in RAY_ADDRESS is not enough for stop: it says what to pass.
        var hostPort = await scope.RunAsync(["stop"], new Dictionary<string, string> { ["RAY_ADDRESS"] = info.Address, ["TMPDIR"] = isolated });
        Assert.True(hostPort.ExitCode == 1, hostPort.Describe());
        Assert.Contains("pass --session-dir DIR", hostPort.Stderr);

        var stop = await scope.RunAsync(["stop"], env);
        Assert.True(stop.ExitCode == 0, stop.Describe());
        Assert.Contains($"Stopped the raylet (pid {info.Pid}, gracefully)", stop.Stdout);
        Assert.False(RayletProcess.IsAlive(info.Pid));
    }

    /// <summary>chown (of the link itself with <paramref name="link"/>); false when not permitted (not root).</summary>
    private static bool Chown(string path, int uid, bool link = false)
    {
        var psi = new ProcessStartInfo("chown") { RedirectStandardError = true, UseShellExecute = false };
        if (link) psi.ArgumentList.Add("-h");
        psi.ArgumentList.Add(uid.ToString(CultureInfo.InvariantCulture));
        psi.ArgumentList.Add(path);
        using var p = Process.Start(psi)!;
        p.StandardError.ReadToEnd();
        p.WaitForExit();
        return p.ExitCode == 0;
    }
}
