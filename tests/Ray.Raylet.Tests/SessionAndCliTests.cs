using Ray.Raylet.Cli;
using Ray.Raylet.Session;

namespace Ray.Raylet.Tests;

/// <summary>Session directories, the address file and the CLI's parsing and help, in process.</summary>
public class SessionAndCliTests
{
    [Fact]
    public void CreateNew_makes_a_timestamped_session_and_repoints_session_latest()
    {
        var root = Path.Combine(Path.GetTempPath(), "rlt-root-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var first = SessionLayout.CreateNew(root);
            Assert.Matches(@"session_\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}_\d{6}_\d+$", first.Directory);
            Assert.True(Directory.Exists(first.LogsDirectory) && Directory.Exists(first.SocketsDirectory));
            var link = new FileInfo(Path.Combine(root, SessionLayout.LatestLinkName));
            Assert.Equal(first.Directory, link.LinkTarget);
            Thread.Sleep(2); // a different microsecond stamp
            var second = SessionLayout.CreateNew(root);
            Assert.NotEqual(first.Directory, second.Directory);
            Assert.Equal(second.Directory, new FileInfo(link.FullName).LinkTarget);
            // Paths through the link reach the newest session.
            File.WriteAllText(Path.Combine(second.Directory, "marker"), "x");
            Assert.True(File.Exists(Path.Combine(SessionLayout.Latest(root).Directory, "marker")));
        }
        finally { Directory.Delete(root, recursive: true); }
    }

    [Fact]
    public void Address_file_round_trips_with_mode_0600_and_rejects_garbage()
    {
        var dir = Directory.CreateTempSubdirectory("rlt-af-").FullName;
        try
        {
            var path = Path.Combine(dir, SessionLayout.AddressFileName);
            Assert.Null(AddressFile.TryRead(path));
            var info = new RayletAddressInfo
            {
                Address = "127.0.0.1:1234", Token = "t", Pid = 42, NodeId = "n", SessionDir = dir,
                PlasmaSocket = "/tmp/s", ObjectStorePath = "/dev/shm/x", ProtocolVersion = 1, StartedAt = new DateTime(2025, 1, 2, 3, 4, 5, DateTimeKind.Utc),
            };
            AddressFile.Write(path, info);
            Assert.Equal(info, AddressFile.TryRead(path));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
            Assert.Contains("\"plasma_socket\": \"/tmp/s\"", File.ReadAllText(path)); // snake_case, as Ray's files
            File.WriteAllText(path, "{ not json");
            Assert.Throws<InvalidDataException>(() => AddressFile.TryRead(path));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Theory]
    [InlineData("start", new[] { "--head", "--port", "--node-ip-address", "--num-cpus", "--num-gpus", "--resources", "--object-store-memory", "--session-dir", "--block" })]
    [InlineData("status", new[] { "--address", "--session-dir" })]
    [InlineData("stop", new[] { "--session-dir", "--grace-period" })]
    public async Task Help_of_each_command_lists_its_options(string command, string[] options)
    {
        var output = new StringWriter();
        Assert.Equal(0, await RayCli.InvokeAsync([command, "--help"], output, new StringWriter()));
        var text = output.ToString();
        // The usage line names the executable ("ray"; the test host here) then the command.
        Assert.Matches($@"\S+ {command} \[options\]", text);
        foreach (var o in options) Assert.Contains(o, text);
        // Every option line has a description: none is left bare.
        foreach (var line in text.Split('\n').Where(l => l.TrimStart().StartsWith("--", StringComparison.Ordinal)))
            Assert.Matches(@"^\s+--\S+(\s<[^>]+>)?\s{2,}\S", line);
    }

    [Fact]
    public async Task Root_help_lists_start_status_and_stop_but_not_the_daemon()
    {
        var output = new StringWriter();
        Assert.Equal(0, await RayCli.InvokeAsync(["--help"], output, new StringWriter()));
        var text = output.ToString();
        foreach (var c in new[] { "start", "status", "stop" }) Assert.Contains("  " + c + " ", text);
        Assert.DoesNotContain("raylet  ", text);
    }

    [Fact]
    public async Task Status_without_a_raylet_explains_how_to_start_one()
    {
        var error = new StringWriter();
        var missing = Path.Combine(Path.GetTempPath(), "rlt-none-" + Guid.NewGuid().ToString("N")[..8]);
        Assert.Equal(1, await RayCli.InvokeAsync(["status", "--session-dir", missing], new StringWriter(), error));
        Assert.Contains("ray start --head", error.ToString());
    }
}
