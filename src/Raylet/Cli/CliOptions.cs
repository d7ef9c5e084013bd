using System.CommandLine;
using System.Globalization;

namespace Ray.Raylet.Cli;

/// <summary>Options shared by several commands, and small helpers for their actions.</summary>
internal static class CliOptions
{
    internal static Option<string?> SessionDir(string description) => new("--session-dir") { Description = description, HelpName = "DIR" };

    internal static Option<int> Port() => new("--port")
    {
        Description = "TCP port of the raylet; 0 picks a free port (the address file and the output tell which).",
        DefaultValueFactory = _ => 6379,
        HelpName = "PORT",
    };

    internal static Option<string> NodeIpAddress() => new("--node-ip-address")
    {
        Description = "IP address the raylet binds. The default, loopback, accepts connections from this machine only.",
        DefaultValueFactory = _ => "127.0.0.1",
        HelpName = "IP",
    };

    internal static Option<int?> NumCpus() => new("--num-cpus") { Description = "CPUs this node offers to tasks and actors (default: the machine's processor count).", HelpName = "N" };

    internal static Option<int?> NumGpus() => new("--num-gpus") { Description = "GPUs this node offers (default: 0).", HelpName = "N" };

    internal static Option<string?> Resources() => new("--resources")
    {
        Description = "Custom resources as a JSON object of names to amounts, e.g. '{\"accelerator\": 2}'.",
        HelpName = "JSON",
    };

    internal static Option<long?> ObjectStoreMemory() => new("--object-store-memory")
    {
        Description = "Bytes of shared memory for the node's object store (default: 30% of memory, at most 90% of the free space of /dev/shm; minimum 1048576).",
        HelpName = "BYTES",
    };

    internal static Option<bool> Head() => new("--head") { Description = "Start the head node of a new cluster (required: joining an existing cluster comes with multi-node support)." };

    internal static string Invariant(double v) => v.ToString("0.####", CultureInfo.InvariantCulture);

    /// <summary>The last lines of a log file, for error messages.</summary>
    internal static string Tail(string path, int lines = 20)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream);
            var all = reader.ReadToEnd().Split('\n');
            return string.Join('\n', all.TakeLast(lines)).TrimEnd();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return $"(cannot read {path}: {e.Message})"; }
    }
}
