using System.Net;
using System.Net.Sockets;

namespace Ray.Tests.Shared;

/// <summary>
/// Opens many raw connections that never say Hello (a flood), within what this process may
/// open: the soft file-descriptor limit (.NET raises it to the hard limit at start-up) minus
/// what is open, minus a reserve for the test itself.
/// </summary>
internal sealed class ConnectionFlood : IDisposable
{
    private readonly List<Socket> _sockets = [];

    /// <summary>Connections opened (the server may have closed some since).</summary>
    public int Opened => _sockets.Count;

    /// <summary>File descriptors this process may still open, keeping <paramref name="reserve"/> back.</summary>
    public static int Budget(int reserve = 512)
    {
        var limit = 1024L;
        foreach (var line in File.ReadLines("/proc/self/limits"))
        {
            if (!line.StartsWith("Max open files", StringComparison.Ordinal)) continue;
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (long.TryParse(parts[3], out var soft)) limit = soft; // "Max open files <soft> <hard> files"
        }
        var open = Directory.GetFiles("/proc/self/fd").Length;
        return (int)Math.Max(0, Math.Min(int.MaxValue, limit - open - reserve));
    }

    /// <summary>Opens up to <paramref name="count"/> connections to <paramref name="endpoint"/>, <paramref name="parallel"/> at a time; each tried up to three times, then skipped.</summary>
    public static async Task<ConnectionFlood> OpenAsync(EndPoint endpoint, int count, int parallel = 64, TimeSpan? connectTimeout = null)
    {
        var flood = new ConnectionFlood();
        var timeout = connectTimeout ?? TimeSpan.FromSeconds(4);
        var gate = new SemaphoreSlim(parallel);
        var tasks = new List<Task>(count);
        for (var i = 0; i < count; i++)
        {
            await gate.WaitAsync();
            tasks.Add(ConnectOneAsync());
        }
        await Task.WhenAll(tasks);
        return flood;

        async Task ConnectOneAsync()
        {
            try
            {
                // A loaded machine may drop a SYN from a full backlog (resent after 1 s, 3 s):
                // a few tries, so the flood is as large as asked.
                for (var attempt = 0; attempt < 3; attempt++)
                {
                    var s = endpoint is UnixDomainSocketEndPoint
                        ? new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
                        : new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                    try
                    {
                        using var cts = new CancellationTokenSource(timeout);
                        await s.ConnectAsync(endpoint, cts.Token);
                        lock (flood._sockets) flood._sockets.Add(s);
                        return;
                    }
                    catch (Exception e) when (e is SocketException or OperationCanceledException) { s.Dispose(); }
                }
            }
            finally { gate.Release(); }
        }
    }

    /// <summary>How many of the connections the server has closed (a read sees EOF or a reset now).</summary>
    public int CountClosedByPeer()
    {
        var closed = 0;
        var buf = new byte[64];
        lock (_sockets)
        {
            foreach (var s in _sockets)
            {
                try
                {
                    if (s.Poll(0, SelectMode.SelectRead) && s.Receive(buf, SocketFlags.None) == 0) closed++;
                }
                catch (SocketException) { closed++; }
            }
        }
        return closed;
    }

    public void Dispose()
    {
        lock (_sockets)
        {
            foreach (var s in _sockets) s.Dispose();
            _sockets.Clear();
        }
    }
}
