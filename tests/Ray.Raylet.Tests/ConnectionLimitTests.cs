using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Ray.Protocol;
using Ray.Raylet.Client;
using Ray.Contract.Messages;
using Ray.Raylet.Server;
using Ray.Tests.Shared;

namespace Ray.Raylet.Tests;

/// <summary>
/// The raylet server's connection limits on real loopback sockets: connections that never say
/// Hello live in their own small pool (oldest evicted, handshake timeout), apart from the
/// authenticated connections' cap, and lines about rejected connections are rate-limited.
/// </summary>
public class ConnectionLimitTests
{
    private static RayletServer StartServer(FakeHost host, RayletServerOptions options, CapturingLogger? logger = null) =>
        new RayletServer(host, new IPEndPoint(IPAddress.Loopback, 0), options, logger).Start();

    [Fact]
    public async Task A_flood_of_connections_without_Hello_does_not_keep_an_authenticated_client_out()
    {
        var host = new FakeHost();
        // A long handshake timeout: only the pending pool's cap can make room here.
        await using var server = StartServer(host, new RayletServerOptions { MaxPendingHandshakes = 32, MaxConnections = 64, HandshakeTimeout = TimeSpan.FromSeconds(60) });
        var count = Math.Min(600, ConnectionFlood.Budget() / 2); // both ends live in this process
        Assert.True(count > 100, $"too few file descriptors for the test ({count})");
        using var flood = await ConnectionFlood.OpenAsync(server.LocalEndPoint, count);
        Assert.True(flood.Opened > 100, $"only {flood.Opened} connections opened");

        await using var client = await RayletClient.ConnectAsync(server.LocalEndPoint.ToString(), host.ClusterToken).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(FakeHost.Report.QueuedTasks, (await client.GetStatusAsync().WaitAsync(TimeSpan.FromSeconds(10))).QueuedTasks);
        Assert.Equal(1, server.AuthenticatedCount);
        Assert.True(server.PendingCount <= 32, $"{server.PendingCount} pending handshakes");
        // The flood's oldest connections were closed to make room; the server holds at most the pool's worth.
        await TestUtil.Eventually(() => server.ConnectionCount <= 33, TimeSpan.FromSeconds(10), () => $"{server.ConnectionCount} connections open");
        Assert.True(flood.CountClosedByPeer() >= flood.Opened - 32, "evicted connections were not closed");
    }

    [Fact]
    public async Task Authenticated_connections_have_their_own_cap_and_a_Hello_beyond_it_is_refused_with_TooManyConnections()
    {
        var host = new FakeHost();
        await using var server = StartServer(host, new RayletServerOptions { MaxConnections = 3 });
        var clients = new List<RayletClient>();
        for (var i = 0; i < 3; i++) clients.Add(await RayletClient.ConnectAsync(server.LocalEndPoint.ToString(), host.ClusterToken));
        await using (var fourth = await RawRayletConnection.ConnectAsync(server.LocalEndPoint.ToString()))
        {
            await fourth.SendAsync(RawRayletConnection.HelloFrame(host.ClusterToken));
            var (code, message) = await fourth.ReadErrorAsync((ushort)ClusterMessageKind.Hello, 1);
            Assert.Equal(ClusterErrorCode.TooManyConnections, code);
            Assert.Contains("3 authenticated connections", message);
            Assert.True(await fourth.ClosedByPeerAsync(TimeSpan.FromSeconds(5)));
        }
        Assert.Equal(3, server.AuthenticatedCount);
        await clients[0].DisposeAsync();
        await TestUtil.Eventually(() => server.AuthenticatedCount == 2, TimeSpan.FromSeconds(5), () => $"{server.AuthenticatedCount} authenticated");
        await using var next = await RayletClient.ConnectAsync(server.LocalEndPoint.ToString(), host.ClusterToken);
        Assert.Equal(FakeHost.Report.QueuedTasks, (await next.GetStatusAsync()).QueuedTasks);
        foreach (var c in clients.Skip(1)) await c.DisposeAsync();
    }

    [Fact]
    public async Task Lines_about_rejected_connections_are_rate_limited_with_a_count_of_those_suppressed()
    {
        var host = new FakeHost();
        var logger = new CapturingLogger();
        await using var server = StartServer(host, new RayletServerOptions(), logger);
        var garbage = Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        for (var i = 0; i < 300; i++)
        {
            using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await s.ConnectAsync(server.LocalEndPoint);
            await s.SendAsync(garbage, SocketFlags.None);
        }
        await TestUtil.Eventually(() => server.ConnectionCount == 0, TimeSpan.FromSeconds(20), () => $"{server.ConnectionCount} connections open");
        var lines = logger.Lines.Where(l => l.Contains("before Hello", StringComparison.Ordinal) || l.Contains("closed:", StringComparison.Ordinal)).ToList();
        // One line per reason per second: the 300 bad peers above take a few seconds at most.
        Assert.True(lines.Count <= 12, $"{lines.Count} lines for 300 rejected connections:\n{string.Join('\n', lines.Take(20))}");
        Assert.NotEmpty(lines);

        await Task.Delay(1100); // past the interval: the next line carries the count of those dropped
        using (var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            await s.ConnectAsync(server.LocalEndPoint);
            await s.SendAsync(garbage, SocketFlags.None);
        }
        await TestUtil.Eventually(() => logger.Lines.Any(l => Regex.IsMatch(l, @"\(([1-9]\d*) more BadInput rejections")), TimeSpan.FromSeconds(5),
            () => string.Join('\n', logger.Lines.TakeLast(5)));
    }
}
