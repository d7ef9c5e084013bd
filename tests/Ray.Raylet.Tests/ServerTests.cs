using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Ray.Plasma;
using Ray.Raylet.Client;
using Ray.Contract.Messages;
using Ray.Raylet.Node;
using Ray.Raylet.Server;
using Ray.Raylet.Session;

namespace Ray.Raylet.Tests;

/// <summary>The socket server and the node manager in this process (no CLI), on loopback port 0.</summary>
public class ServerTests
{
    private static RayletServer StartServer(FakeHost host, RayletServerOptions? options = null) =>
        new RayletServer(host, new IPEndPoint(IPAddress.Loopback, 0), options).Start();

    [Fact]
    public async Task A_connection_that_never_says_Hello_is_closed_after_the_handshake_timeout()
    {
        var host = new FakeHost();
        // 1.5 s: the good client's Hello must beat it even on a loaded 2-core CI machine (300 ms did not, once).
        var timeout = TimeSpan.FromMilliseconds(1500);
        await using var server = StartServer(host, new RayletServerOptions { HandshakeTimeout = timeout });
        await using var silent = await RawRayletConnection.ConnectAsync(server.LocalEndPoint.ToString());
        await using var good = await RayletClient.ConnectAsync(server.LocalEndPoint.ToString(), host.ClusterToken);
        Assert.True(await silent.ClosedByPeerAsync(TimeSpan.FromSeconds(10)), "a silent connection stayed open");
        await Task.Delay(timeout / 2); // past the timeout: the authenticated one stays
        Assert.Equal(17, (await good.GetStatusAsync()).QueuedTasks);
        await TestUtil.Eventually(() => server.ConnectionCount == 1, TimeSpan.FromSeconds(5), () => $"{server.ConnectionCount} connections");
        Assert.Equal(1, server.AuthenticatedCount);
    }

    [Fact]
    public async Task Pipelined_requests_from_many_threads_all_get_their_own_reply()
    {
        var host = new FakeHost();
        await using var server = StartServer(host);
        await using var client = await RayletClient.ConnectAsync(server.LocalEndPoint.ToString(), host.ClusterToken);
        var all = await Task.WhenAll(Enumerable.Range(0, 200).Select(_ => Task.Run(() => client.GetStatusAsync())));
        Assert.All(all, r => Assert.Equal(FakeHost.Report.QueuedTasks, r.QueuedTasks));
    }

    [Fact]
    public async Task Shutdown_is_acknowledged_and_reaches_the_host_and_closing_the_server_closes_its_clients()
    {
        var host = new FakeHost();
        var server = StartServer(host);
        await using var client = await RayletClient.ConnectAsync(server.LocalEndPoint.ToString(), host.ClusterToken);
        await client.ShutdownAsync();
        // The ack is sent before the host is told (the shutdown closes the connection): wait for it.
        await TestUtil.Eventually(() => host.ShutdownReasons.Count == 1, TimeSpan.FromSeconds(5), () => "the host never got the shutdown");
        Assert.Contains("Shutdown message from connection", Assert.Single(host.ShutdownReasons));
        await server.DisposeAsync();
        var e = await Assert.ThrowsAsync<RayletException>(() => client.GetStatusAsync());
        Assert.Contains("closed", e.Message);
    }

    [Fact]
    public async Task Connecting_to_a_port_where_nothing_listens_fails_with_a_RayletException()
    {
        int port;
        using (var l = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0))
        {
            l.Start();
            port = ((IPEndPoint)l.LocalEndpoint).Port;
        }
        var e = await Assert.ThrowsAsync<RayletException>(() => RayletClient.ConnectAsync($"127.0.0.1:{port}", "t"));
        Assert.Contains("cannot connect", e.Message);
    }

    [Fact]
    public async Task NodeManager_serves_status_from_its_store_and_resources_and_removes_its_address_file()
    {
        var dir = Path.Combine("/tmp", "rlt-nm-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var node = NodeManager.Start(new RayletOptions
            {
                SessionDir = dir,
                NumCpus = 2,
                Resources = new Dictionary<string, double> { ["accelerator"] = 1 },
                ObjectStoreMemoryBytes = 8 << 20,
            }, NullLoggerFactory.Instance);
            var session = new SessionLayout(dir);
            await using (node)
            {
                var info = AddressFile.TryRead(session.AddressFile)!;
                Assert.Equal(node.Address, info.Address);
                Assert.Equal(node.ClusterToken, info.Token);
                Assert.Equal(Environment.ProcessId, info.Pid);

                // An object in the node's store shows in status; a lease's resources show as used.
                var id = new PlasmaObjectId(1, 1);
                node.Store.Create(id, 1000);
                node.Store.Seal(id);
                Assert.True(node.Resources.TryAcquire(new Dictionary<string, double> { ["CPU"] = 1.5 }));
                await using var client = await RayletClient.ConnectAsync(info.Address, info.Token);
                var status = await client.GetStatusAsync();
                Assert.Equal(1, status.Objects);
                Assert.True(status.ObjectStoreUsedBytes >= 1000);
                Assert.Equal(8 << 20, status.ObjectStoreCapacityBytes);
                Assert.Equal(1, status.Clients);
                var n = Assert.Single(status.Nodes);
                Assert.True(n.IsHead && n.Alive);
                Assert.Equal(new ResourceUsage("CPU", 2, 1.5), n.Resources.Single(r => r.Name == "CPU"));
                Assert.Equal(new ResourceUsage("accelerator", 1, 0), n.Resources.Single(r => r.Name == "accelerator"));
                Assert.Equal(8 << 20, n.Resources.Single(r => r.Name == NodeResources.ObjectStoreMemory).Total);

                await client.ShutdownAsync();
                Assert.StartsWith("Shutdown message", await node.ShutdownRequested.WaitAsync(TimeSpan.FromSeconds(5)));
            }
            Assert.False(File.Exists(session.AddressFile));
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }
}
