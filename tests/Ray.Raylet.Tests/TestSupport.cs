using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Reflection;
using System.Text;
using Ray.Protocol;
using Ray.Contract.Messages;
using Ray.Raylet.Session;
using Ray.Tests.Shared;

// The raylet runs on Linux (/proc, Unix sockets, /dev/shm, signals); so do its tests.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]

namespace Ray.Raylet.Tests;

/// <summary>What one run of the `ray` CLI printed and returned.</summary>
internal sealed record CliResult(string[] Args, int ExitCode, string Stdout, string Stderr)
{
    public string Describe() => $"`ray {string.Join(' ', Args)}` exited {ExitCode}\n--- stdout ---\n{Stdout.TrimEnd()}\n--- stderr ---\n{Stderr.TrimEnd()}";
}

/// <summary>Runs the built `ray` program as a process: <c>dotnet ray.dll ARGS</c>.</summary>
internal static class RayCliProcess
{
    public static string DllPath { get; } = FindDll();

    private static string FindDll() => BuiltDll.Find(typeof(RayCliProcess).Assembly, "RayDllPath", "src/Raylet", "ray.dll");

    /// <summary>
    /// Runs `ray ARGS` and waits for it. RAY_ADDRESS and RAY_CLUSTER_TOKEN are cleared unless
    /// <paramref name="env"/> sets them. Fails the test if it runs past <paramref name="timeout"/>.
    /// </summary>
    public static async Task<CliResult> RunAsync(string[] args, IReadOnlyDictionary<string, string>? env = null, TimeSpan? timeout = null)
    {
        var limit = timeout ?? TimeSpan.FromSeconds(60);
        var psi = new ProcessStartInfo(BuiltDll.DotnetHost())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(DllPath);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment.Remove("RAY_ADDRESS");
        psi.Environment.Remove("RAY_CLUSTER_TOKEN");
        if (env is not null) foreach (var (k, v) in env) psi.Environment[k] = v;
        using var process = Process.Start(psi)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            // Reading to EOF also proves the daemon did not inherit our pipes.
            await Task.WhenAll(stdout, stderr, process.WaitForExitAsync()).WaitAsync(limit);
        }
        catch (TimeoutException)
        {
            try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            Assert.Fail($"`ray {string.Join(' ', args)}` did not finish within {limit.TotalSeconds:0} s (pid {process.Id})");
        }
        return new CliResult(args, process.ExitCode, await stdout, await stderr);
    }
}

/// <summary>
/// One test's raylet: a fresh short session directory under /tmp, and on dispose a SIGKILL
/// for every raylet process of that session that is still alive (found by the pids the test
/// saw and by scanning /proc for the session path, so even a start that failed half-way is
/// cleaned up), then its shared-memory file and the directory are removed.
/// </summary>
internal sealed class RayletScope : IAsyncDisposable
{
    private readonly HashSet<int> _pids = [];
    private readonly HashSet<string> _arenas = [];

    public RayletScope()
    {
        SessionDir = Path.Combine("/tmp", "rlt-" + Guid.NewGuid().ToString("N")[..10]);
        Session = new SessionLayout(SessionDir);
    }

    public string SessionDir { get; }
    public SessionLayout Session { get; }

    /// <summary>`ray start --head --port 0 --session-dir DIR --object-store-memory 16 MiB EXTRA`; asserts success.</summary>
    public async Task<(RayletAddressInfo Info, CliResult Result)> StartAsync(params string[] extra)
    {
        var result = await RunAsync(["start", "--head", "--port", "0", "--session-dir", SessionDir, "--object-store-memory", (16 << 20).ToString(CultureInfo.InvariantCulture), .. extra]);
        var info = AddressFile.TryRead(Session.AddressFile);
        if (info is not null) Track(info);
        Assert.True(result.ExitCode == 0, result.Describe());
        Assert.NotNull(info);
        return (info!, result);
    }

    public void Track(RayletAddressInfo info)
    {
        _pids.Add(info.Pid);
        _arenas.Add(info.ObjectStorePath);
    }

    public Task<CliResult> RunAsync(string[] args, IReadOnlyDictionary<string, string>? env = null) => RayCliProcess.RunAsync(args, env);

    public string Log() => File.Exists(Session.RayletLog) ? File.ReadAllText(Session.RayletLog) : "(no log)";

    public async ValueTask DisposeAsync()
    {
        foreach (var pid in _pids.Concat(FindBySession()).Distinct().ToList())
        {
            if (!RayletProcess.IsRaylet(pid)) continue;
            RayletProcess.Signal(pid, RayletProcess.SigKill);
            await RayletProcess.WaitForExitAsync(pid, TimeSpan.FromSeconds(5));
        }
        // Workers of a killed raylet are not its children any more: find them by their command line.
        foreach (var pid in FindWorkers())
        {
            RayletProcess.Signal(pid, RayletProcess.SigKill);
            await RayletProcess.WaitForExitAsync(pid, TimeSpan.FromSeconds(5));
        }
        foreach (var arena in _arenas)
            if (Path.GetFileName(arena).StartsWith("ray-raylet-", StringComparison.Ordinal)) try { File.Delete(arena); } catch (IOException) { }
        try { Directory.Delete(SessionDir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    /// <summary>Worker processes (`ray worker`) whose command line names this session.</summary>
    public IReadOnlyList<int> FindWorkers() => FindByArgs("worker");

    /// <summary>Raylet processes whose command line names this session.</summary>
    public IReadOnlyList<int> FindBySession() => FindByArgs(RayletProcess.DaemonCommand);

    private IReadOnlyList<int> FindByArgs(string subcommand) => SessionProcesses.Find(SessionDir, $" {subcommand} ");
}

/// <summary>Frames over a raw TCP socket, for tests that speak the raylet protocol by hand (or badly).</summary>
internal sealed class RawRayletConnection : RawFrameSocket
{
    private RawRayletConnection(Socket socket) : base(socket, ClusterProtocol.MaxPayload) { }

    public static async Task<RawRayletConnection> ConnectAsync(string address)
    {
        var endpoint = IPEndPoint.Parse(address);
        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(endpoint);
        return new RawRayletConnection(socket);
    }

    public static byte[] HelloFrame(string token, uint version = ClusterProtocol.Version, ulong requestId = 1) =>
        Frame((ushort)ClusterMessageKind.Hello, FrameFlags.None, requestId, ClusterCodec.EncodeHello(version, token));

    /// <summary>Says Hello with <paramref name="token"/> and checks the reply is a success.</summary>
    public async Task HelloAsync(string token)
    {
        await SendAsync(HelloFrame(token));
        var reply = await ReadFrameAsync(TimeSpan.FromSeconds(10));
        Assert.NotNull(reply);
        Assert.Equal(FrameFlags.Reply, reply.Value.Header.Flags);
        ClusterCodec.DecodeHelloReply(new ReadOnlySequence<byte>(reply.Value.Payload));
    }

    /// <summary>Reads the error reply that must come next: its code and message.</summary>
    public async Task<(ClusterErrorCode Code, string Message)> ReadErrorAsync(ushort kind, ulong requestId)
    {
        var frame = await ReadFrameAsync(TimeSpan.FromSeconds(10));
        Assert.True(frame is not null, "the connection closed without an error reply");
        Assert.Equal(FrameFlags.Reply | FrameFlags.Error, frame.Value.Header.Flags);
        Assert.Equal(kind, frame.Value.Header.Kind);
        Assert.Equal(requestId, frame.Value.Header.RequestId);
        return ClusterCodec.DecodeError(new ReadOnlySequence<byte>(frame.Value.Payload), kind);
    }
}

internal static class TestUtil
{
    public static async Task Eventually(Func<bool> condition, TimeSpan timeout, Func<string> describe)
    {
        var sw = Stopwatch.StartNew();
        while (!condition())
        {
            if (sw.Elapsed > timeout) Assert.Fail($"not true within {timeout.TotalSeconds:0.#} s: {describe()}");
            await Task.Delay(20);
        }
    }

    public static async Task EventuallyAsync(Func<Task<bool>> condition, TimeSpan timeout, Func<string> describe)
    {
        var sw = Stopwatch.StartNew();
        while (!await condition())
        {
            if (sw.Elapsed > timeout) Assert.Fail($"not true within {timeout.TotalSeconds:0.#} s: {describe()}");
            await Task.Delay(20);
        }
    }

    public static byte[] RandomBytes(int length, Random rng)
    {
        var data = new byte[length];
        rng.NextBytes(data);
        return data;
    }

    public static string Utf8(byte[] bytes) => Encoding.UTF8.GetString(bytes);
}
