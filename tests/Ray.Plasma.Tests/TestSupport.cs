using System.Buffers;
using System.Diagnostics;
using System.Net.Sockets;
using System.Reflection;
using System.Text;
using Ray.Plasma.Client;
using Ray.Plasma.Server;
using Ray.Plasma.Store;
using Ray.Protocol;

using Ray.Tests.Shared;

namespace Ray.Plasma.Tests;

/// <summary>
/// A store on a fresh arena directory (under /dev/shm when it exists) and a fresh spill
/// directory; both removed on dispose.
/// </summary>
internal sealed class StoreScope : IDisposable
{
    public StoreScope(long capacity, string? spillDirectory = null)
    {
        var tag = Guid.NewGuid().ToString("N")[..12];
        var shm = Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath();
        ArenaDirectory = Path.Combine(shm, "rp-test-" + tag);
        SpillDirectory = spillDirectory ?? Path.Combine(Path.GetTempPath(), "rp-spill-" + tag);
        Store = new PlasmaStore(new PlasmaStoreOptions
        {
            Directory = ArenaDirectory,
            SpillDirectory = SpillDirectory,
            CapacityBytes = capacity,
            Name = "arena",
        });
    }

    public string ArenaDirectory { get; }
    public string SpillDirectory { get; }
    public PlasmaStore Store { get; }

    public void Dispose()
    {
        try { Store.Dispose(); }
        finally
        {
            TryDeleteDirectory(ArenaDirectory);
            TryDeleteDirectory(SpillDirectory);
        }
    }

    internal static void TryDeleteDirectory(string path)
    {
        try { if (Directory.Exists(path)) Directory.Delete(path, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}

/// <summary>A store served on its own short Unix socket path (/tmp/rp-xxxxxxxx.sock).</summary>
internal sealed class ServerScope : IAsyncDisposable
{
    private readonly StoreScope _store;

    private ServerScope(StoreScope store, PlasmaServer server)
    {
        _store = store;
        Server = server;
    }

    public static ServerScope Start(long capacity, PlasmaServerOptions? options = null, Microsoft.Extensions.Logging.ILogger? logger = null)
    {
        var store = new StoreScope(capacity);
        try
        {
            var server = new PlasmaServer(store.Store, NewSocketPath(), logger, options).Start();
            return new ServerScope(store, server);
        }
        catch
        {
            store.Dispose();
            throw;
        }
    }

    public static string NewSocketPath() => $"/tmp/rp-{Guid.NewGuid().ToString("N")[..8]}.sock";

    public PlasmaServer Server { get; }
    public PlasmaStore Store => _store.Store;
    public string SocketPath => Server.SocketPath;
    public StoreScope StoreScope => _store;

    public async ValueTask DisposeAsync()
    {
        try
        {
            // A hung dispose must not hang the whole run.
            var dispose = Server.DisposeAsync().AsTask();
            if (await Task.WhenAny(dispose, Task.Delay(TimeSpan.FromSeconds(10))) != dispose)
                throw new TimeoutException("PlasmaServer.DisposeAsync did not finish within 10 s");
            await dispose;
        }
        finally
        {
            _store.Dispose();
            try { File.Delete(SocketPath); } catch (IOException) { }
        }
    }
}

internal static class TestUtil
{
    private static long s_owner = Environment.TickCount64 & 0xffff;

    /// <summary>A fresh owner, so ids never collide between tests.</summary>
    public static ulong NewOwner() => (ulong)Interlocked.Increment(ref s_owner) << 20 | 0x5eed;

    public static PlasmaObjectId Id(ulong owner, ulong seq) => new(owner, seq);

    /// <summary>FNV-1a 64, the same function the TestClient prints.</summary>
    public static ulong Fnv1a(ReadOnlySpan<byte> data)
    {
        var h = 14695981039346656037UL;
        foreach (var b in data)
        {
            h ^= b;
            h *= 1099511628211UL;
        }
        return h;
    }

    public static byte[] RandomBytes(int length, int seed)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    /// <summary>Bytes the allocator charges for an object of <paramref name="dataSize"/>.</summary>
    public static long Charge(long dataSize) => ArenaAllocator.RoundUp(PlasmaStore.HeaderSize + dataSize);

    /// <summary>A region seal as a client makes it: the block's sharing word set unshared when reserved (BlockClaim), then the seal.</summary>
    public static unsafe void SealAsClient(PlasmaStore store, PlasmaObjectId id, long dataOffset, long dataSize, uint typeTag, bool pinned, long client, bool keepReference)
    {
        if (dataOffset >= PlasmaStore.HeaderSize && dataOffset <= store.Arena.Capacity)
            BlockClaim.MarkUnshared(store.Arena.Base + dataOffset - PlasmaStore.HeaderSize, id);
        store.SealInRegion(id, dataOffset, dataSize, typeTag, pinned, client, keepReference);
    }

    /// <summary>Puts a sealed object through the store's own API.</summary>
    public static unsafe PlasmaObjectInfo Put(PlasmaStore store, PlasmaObjectId id, ReadOnlySpan<byte> data, bool pinned = true, uint typeTag = 0)
    {
        var offset = store.Create(id, data.Length, typeTag, pinned);
        data.CopyTo(store.Arena.Slice(offset, data.Length));
        store.Seal(id);
        return new PlasmaObjectInfo(id, offset, data.Length, typeTag);
    }

    public static async Task Eventually(Func<bool> condition, TimeSpan timeout, Func<string> describe)
    {
        var sw = Stopwatch.StartNew();
        while (!condition())
        {
            if (sw.Elapsed > timeout) Assert.Fail($"not true within {timeout.TotalSeconds:0.#} s: {describe()}");
            await Task.Delay(20);
        }
    }

    public static async Task<T> WithTimeout<T>(Task<T> task, TimeSpan timeout, string what)
    {
        if (await Task.WhenAny(task, Task.Delay(timeout)) != task) Assert.Fail($"{what} did not finish within {timeout.TotalSeconds:0.#} s");
        return await task;
    }

    public static async Task WithTimeout(Task task, TimeSpan timeout, string what)
    {
        if (await Task.WhenAny(task, Task.Delay(timeout)) != task) Assert.Fail($"{what} did not finish within {timeout.TotalSeconds:0.#} s");
        await task;
    }
}

/// <summary>Frames over the store's Unix socket, for tests that speak the protocol by hand.</summary>
internal sealed class RawConnection : RawFrameSocket
{
    private RawConnection(Socket socket) : base(socket, PlasmaProtocol.MaxPayload) { }

    public static async Task<RawConnection> ConnectAsync(string socketPath)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath));
        return new RawConnection(socket);
    }

    public static byte[] HelloFrame(ulong requestId = 1)
    {
        var p = new byte[4];
        BitConverter.TryWriteBytes(p, PlasmaProtocol.Version);
        return Frame((ushort)PlasmaMessageKind.Hello, FrameFlags.None, requestId, p);
    }

    /// <summary>Sends Hello and checks the reply.</summary>
    public async Task HelloAsync()
    {
        await SendAsync(HelloFrame());
        var reply = await ReadFrameAsync(TimeSpan.FromSeconds(5));
        Assert.NotNull(reply);
        Assert.Equal((ushort)PlasmaMessageKind.Hello, reply.Value.Header.Kind);
        Assert.Equal(FrameFlags.Reply, reply.Value.Header.Flags);
    }
}

/// <summary>
/// The Ray.Plasma.TestClient program in a second dotnet process. Killed by its pid on dispose,
/// whatever the test's outcome.
/// </summary>
internal sealed class TestClientProcess : IDisposable
{
    private readonly Process _process;
    private readonly System.Threading.Channels.Channel<string> _lines = System.Threading.Channels.Channel.CreateUnbounded<string>();
    private readonly StringBuilder _stderr = new();
    private readonly StringBuilder _stdout = new();

    private TestClientProcess(Process process) => _process = process;

    public int Pid => _process.Id;

    public static string DllPath { get; } = FindDll();

    private static string FindDll() =>
        BuiltDll.Find(typeof(TestClientProcess).Assembly, "TestClientPath", "tests/Ray.Plasma.TestClient", "Ray.Plasma.TestClient.dll");

    public static TestClientProcess Start(params string[] args)
    {
        var psi = new ProcessStartInfo(BuiltDll.DotnetHost())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(DllPath);
        foreach (var a in args) psi.ArgumentList.Add(a);
        var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        var child = new TestClientProcess(process);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) { child._lines.Writer.TryComplete(); return; }
            lock (child._stdout) child._stdout.AppendLine(e.Data);
            child._lines.Writer.TryWrite(e.Data);
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null) lock (child._stderr) child._stderr.AppendLine(e.Data);
        };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    /// <summary>Every stdout line so far.</summary>
    public string[] StdoutLines()
    {
        lock (_stdout) return _stdout.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }

    public string Describe()
    {
        string o, e;
        lock (_stdout) o = _stdout.ToString();
        lock (_stderr) e = _stderr.ToString();
        var exit = _process.HasExited ? _process.ExitCode.ToString() : "running";
        return $"TestClient pid {Pid} (exit {exit}) stdout: [{o.Trim()}] stderr: [{e.Trim()}]";
    }

    /// <summary>The next line of stdout; fails the test on timeout or early exit.</summary>
    public async Task<string> ReadLineAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            if (await _lines.Reader.WaitToReadAsync(cts.Token) && _lines.Reader.TryRead(out var line)) return line;
        }
        catch (OperationCanceledException) { }
        Assert.Fail($"no line from the TestClient within {timeout.TotalSeconds:0.#} s; {Describe()}");
        return "";
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try { await _process.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException) { Assert.Fail($"the TestClient did not exit within {timeout.TotalSeconds:0.#} s; {Describe()}"); }
        return _process.ExitCode;
    }

    /// <summary>SIGKILL, as a crash would: no dispose, no goodbye to the store.</summary>
    public void Kill()
    {
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: false);
            _process.WaitForExit(5000);
        }
        catch (InvalidOperationException) { } // never started or already gone
    }

    public void Dispose()
    {
        Kill();
        _process.Dispose();
    }
}
