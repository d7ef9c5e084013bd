using Ray.Protocol;
using Ray.Tests.Shared;

namespace Ray.Raylet.Tests.Connections;

/// <summary>The receive thread's helper receive: a caller waiting for its reply reads it itself.</summary>
public sealed class HelperReceiveTests
{
    private static readonly TimeSpan Wait = ConnectionKit.Wait;

    [Fact]
    public async Task A_waiting_caller_reads_its_reply_on_its_own_thread()
    {
        var (connection, peer) = await ConnectionKit.StartAsync("thread", callerSends: true, helpers: true);
        await using var _ = peer;
        using var stop = new CancellationTokenSource();
        var echo = Task.Run(async () =>
        {
            while (await peer.ReadFrameAsync(TimeSpan.FromMinutes(1)) is { } f)
                await peer.SendAsync(RawFrameSocket.Frame(f.Header.Kind, FrameFlags.Reply, f.Header.RequestId, f.Payload));
        });
        // The helper spins on TryHelpReceive while it waits, as a driver's sync Get does.
        var helped = await Task.Factory.StartNew(() =>
        {
            var me = Environment.CurrentManagedThreadId;
            var byMe = 0;
            for (var i = 0; i < 200; i++)
            {
                connection.EnterHelper();
                try
                {
                    var before = connection.HandledOn.Count;
                    var reply = connection.Request(TestConnection.Echo, [(byte)i]);
                    var deadline = DateTime.UtcNow + Wait;
                    while (!reply.IsCompleted && DateTime.UtcNow < deadline) connection.TryHelpReceive();
                    Assert.Equal([(byte)i], reply.Result);
                    if (connection.HandledOn.Skip(before).Any(h => h.Thread == me)) byMe++;
                }
                finally { connection.ExitHelper(); }
            }
            return byMe;
        }, TaskCreationOptions.LongRunning);
        Assert.True(helped > 0, "no reply was read by the waiting caller");
        Assert.All(connection.HandledOn, h => Assert.True(h.InReceiveContext));
        Assert.False(FramedConnection.InReceiveContext);
        connection.Close("test over");
        await echo.WaitAsync(Wait);
        await connection.Completion.WaitAsync(Wait);
    }

    [Fact]
    public async Task Bad_input_read_by_a_helper_closes_the_connection_and_fails_the_wait()
    {
        var (connection, peer) = await ConnectionKit.StartAsync("thread", callerSends: true, helpers: true);
        await using var _ = peer;
        connection.EnterHelper();
        try
        {
            var reply = connection.Request(TestConnection.Echo, [1]);
            Assert.NotNull(await peer.ReadFrameAsync(Wait));
            await peer.SendAsync(RawFrameSocket.Frame(0x77, FrameFlags.None, 1, []));
            var deadline = DateTime.UtcNow + Wait;
            while (!reply.IsCompleted && DateTime.UtcNow < deadline) connection.TryHelpReceive();
            await Assert.ThrowsAsync<IOException>(() => reply);
        }
        finally { connection.ExitHelper(); }
        Assert.Equal("protocol error: unknown kind 119", await connection.Closed.WaitAsync(Wait));
        Assert.True(await peer.ClosedByPeerAsync(Wait));
        await connection.Completion.WaitAsync(Wait);
    }

    [Fact]
    public async Task Helpers_need_a_receive_thread()
    {
        var (ours, theirs) = await ConnectionKit.PairAsync();
        using var __ = theirs;
        Assert.Throws<InvalidOperationException>(() => new TestConnection(ours, 1024, ReceiveDriver.Async, callerSends: false, helpers: true));
        ours.Dispose();
    }
}
