using Ray.Plasma.Client;
using Ray.Plasma.Server;
using Ray.Protocol;
using static Ray.Plasma.Tests.TestUtil;

namespace Ray.Plasma.Tests;

/// <summary>A client's Releases and one-way Deletes go out batched in Free frames: in order, and soon.</summary>
public class FreeBatchTests
{
    private const long MiB = 1 << 20;
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task Batched_frees_reach_the_store_on_their_own_within_moments_and_before_the_next_request()
    {
        await using var s = ServerScope.Start(4 * MiB);
        await using var client = await PlasmaClient.ConnectAsync(s.SocketPath);
        var owner = NewOwner();
        await client.PutAsync(Id(owner, 1), new byte[1000]);
        var view = await client.GetAsync(Id(owner, 1), Wait);
        view.Dispose();
        client.DeleteNoReply(Id(owner, 1));
        // Nothing else is sent: the batch goes out on its own (2 ms after the first free).
        await Eventually(() => !s.Store.Contains(Id(owner, 1)), Wait, () => "the delete did not arrive");
        Assert.Equal(0, s.Store.Stats.UsedBytes);

        // Before the next request: a Contains right after a delete sees it applied.
        await client.PutAsync(Id(owner, 2), new byte[1000]);
        using (await client.GetAsync(Id(owner, 2), Wait)) { }
        client.DeleteNoReply(Id(owner, 2));
        Assert.False(await client.ContainsAsync(Id(owner, 2)));

        // Many at once: full batches go out as they fill.
        for (var i = 0; i < 600; i++) await client.PutAsync(Id(owner, 100 + (ulong)i), new byte[100]);
        for (var i = 0; i < 600; i++) client.DeleteNoReply(Id(owner, 100 + (ulong)i));
        Assert.Equal(0, (await client.StatsAsync()).Objects);
    }

    [Theory]
    [InlineData(0u, (byte)1)]   // an empty batch
    [InlineData(1u, (byte)0)]   // an entry with no op
    [InlineData(1u, (byte)4)]   // an unknown op
    [InlineData(2u, (byte)1)]   // fewer entries than the count says
    public async Task A_malformed_Free_frame_closes_only_that_connection(uint count, byte ops)
    {
        await using var s = ServerScope.Start(4 * MiB);
        await using var raw = await RawConnection.ConnectAsync(s.SocketPath);
        await raw.HelloAsync();
        var payload = new byte[4 + (count == 0 ? 0 : 17)];
        BitConverter.TryWriteBytes(payload, count);
        if (count > 0) payload[^1] = ops;
        await raw.SendAsync(RawConnection.Frame((ushort)PlasmaMessageKind.Free, FrameFlags.NoReply, 2, payload));
        Assert.True(await raw.ClosedByPeerAsync(Wait));

        await using var client = await PlasmaClient.ConnectAsync(s.SocketPath); // the store goes on
        await client.PutAsync(Id(NewOwner(), 1), new byte[10]);
    }

    [Fact]
    public async Task Free_entries_that_fail_are_skipped_and_the_rest_applied()
    {
        await using var s = ServerScope.Start(4 * MiB);
        await using var raw = await RawConnection.ConnectAsync(s.SocketPath);
        await raw.HelloAsync();
        var owner = NewOwner();
        Put(s.Store, Id(owner, 1), new byte[100]);
        var payload = new byte[4 + 3 * 17];
        BitConverter.TryWriteBytes(payload, 3u);
        void Entry(int i, ulong seq, byte op)
        {
            BitConverter.TryWriteBytes(payload.AsSpan(4 + i * 17), owner);
            BitConverter.TryWriteBytes(payload.AsSpan(12 + i * 17), seq);
            payload[20 + i * 17] = op;
        }
        Entry(0, 1, 1);   // a release of a reference this client does not hold: skipped
        Entry(1, 404, 3); // unknown: skipped
        Entry(2, 1, 2);   // deleted
        await raw.SendAsync(RawConnection.Frame((ushort)PlasmaMessageKind.Free, FrameFlags.NoReply, 2, payload));
        await Eventually(() => !s.Store.Contains(Id(owner, 1)), Wait, () => "the delete was not applied");
    }
}
