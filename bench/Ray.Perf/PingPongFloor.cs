using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Ray.Protocol;

namespace Ray.Perf;

/// <summary>
/// The cluster floor <c>floor_loopback_rtt_us</c>: a framed ping-pong between this process and a
/// child process (Ray.Perf itself, <c>--pingpong-server</c>) over the transport the driver uses for
/// its workers: a Unix domain socket carrying 16-byte <see cref="FrameHeader"/> frames. Both sides
/// wait the way <c>FrameSocket</c> does (spin RAY_SPIN_US on <see cref="Socket.Available"/>, then a
/// blocking Receive) and send synchronously on the same thread, so the figure is the transport's
/// round trip with no thread hand-off: what a task round trip cannot beat.
/// The same over TCP loopback is reported as <c>floor_loopback_rtt_tcp_us</c>, for reference.
/// </summary>
public static class PingPongFloor
{
    private const ushort PingKind = 1;

    /// <summary>RAY_SPIN_US as the runtime reads it (default 50 us).</summary>
    public static TimeSpan Spin() => Ray.Cluster.WorkerSide.WorkerHost.SpinFromEnvironment();

    /// <summary>Runs both floors (Unix socket, then TCP) against a child server process each.</summary>
    public static void Run(PerfHarness h, int calls = 20_000)
    {
        if (h.Selected("floor_loopback_rtt_us")) Measure(h, "floor_loopback_rtt_us", unix: true, calls);
        if (h.Selected("floor_loopback_rtt_tcp_us")) Measure(h, "floor_loopback_rtt_tcp_us", unix: false, calls);
    }

    private static void Measure(PerfHarness h, string name, bool unix, int calls)
    {
        var path = Path.Combine(Path.GetTempPath(), $"ray-perf-pp-{Environment.ProcessId}.sock");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, UseShellExecute = false };
        psi.ArgumentList.Add(typeof(PingPongFloor).Assembly.Location);
        psi.ArgumentList.Add("--pingpong-server");
        psi.ArgumentList.Add(unix ? path : "tcp");
        using var child = Process.Start(psi)!;
        try
        {
            // The child prints "READY <endpoint>" once it listens.
            var line = child.StandardOutput.ReadLineAsync();
            if (!line.Wait(TimeSpan.FromSeconds(30)) || line.Result is not { } ready || !ready.StartsWith("READY ", StringComparison.Ordinal))
                throw new InvalidOperationException($"ping-pong server did not start ({name})");
            var endpoint = ready[6..];
            using var socket = unix
                ? new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
                : new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            socket.Connect(unix ? new UnixDomainSocketEndPoint(endpoint) : new IPEndPoint(IPAddress.Loopback, int.Parse(endpoint, CultureInfo.InvariantCulture)));
            var spinTicks = (long)(Spin().TotalSeconds * Stopwatch.Frequency);
            var frame = new byte[FrameHeader.Size];
            ulong id = 0;
            h.Latency(name, () =>
            {
                new FrameHeader(0, PingKind, FrameFlags.None, ++id).Write(frame);
                SendAll(socket, frame);
                ReceiveFrame(socket, frame, spinTicks);
                var reply = FrameHeader.Read(frame);
                if (reply.RequestId != id || (reply.Flags & FrameFlags.Reply) == 0) throw new InvalidOperationException("ping-pong: wrong reply");
            }, calls, spread: true);
            socket.Shutdown(SocketShutdown.Both);
            if (!child.WaitForExit(10_000)) child.Kill();
        }
        finally
        {
            if (!child.HasExited) child.Kill();
            try { File.Delete(path); } catch (IOException) { }
        }
    }

    /// <summary>The child: accepts one connection and answers every frame with its header, flagged Reply.</summary>
    public static int ServerMain(string where)
    {
        var unix = where != "tcp";
        using var listener = unix
            ? new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
            : new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        if (unix)
        {
            File.Delete(where);
            listener.Bind(new UnixDomainSocketEndPoint(where));
        }
        else listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var endpoint = unix ? where : ((IPEndPoint)listener.LocalEndPoint!).Port.ToString(CultureInfo.InvariantCulture);
        Console.WriteLine("READY " + endpoint);
        Console.Out.Flush();
        using var socket = listener.Accept();
        if (!unix) socket.NoDelay = true;
        var spinTicks = (long)(Spin().TotalSeconds * Stopwatch.Frequency);
        Span<byte> frame = stackalloc byte[FrameHeader.Size];
        while (ReceiveFrame(socket, frame, spinTicks))
        {
            var ping = FrameHeader.Read(frame);
            new FrameHeader(0, ping.Kind, FrameFlags.Reply, ping.RequestId).Write(frame);
            SendAll(socket, frame);
        }
        return 0;
    }

    private static void SendAll(Socket socket, ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty) data = data[socket.Send(data, SocketFlags.None)..];
    }

    /// <summary>Reads one header-only frame: spin on Available (as FrameSocket does), then block. False at end of stream.</summary>
    private static bool ReceiveFrame(Socket socket, Span<byte> frame, long spinTicks)
    {
        var got = 0;
        while (got < frame.Length)
        {
            if (spinTicks > 0)
            {
                var start = Stopwatch.GetTimestamp();
                var sw = new SpinWait();
                while (socket.Available == 0 && Stopwatch.GetTimestamp() - start < spinTicks) sw.SpinOnce(sleep1Threshold: -1);
            }
            var n = socket.Receive(frame[got..], SocketFlags.None);
            if (n == 0) return false;
            got += n;
        }
        return true;
    }
}
