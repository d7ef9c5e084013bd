using System.Globalization;
using Ray.Plasma.Client;
using Ray.Plasma.Server;
using Ray.Plasma.Store;
using Ray.Protocol;
using static Ray.Plasma.Tests.TestUtil;

namespace Ray.Plasma.Tests;

/// <summary>
/// Recycled blocks over the socket: a client with regions that frees its own objects gets their
/// blocks back through its mailbox and creates the next ones there; never a block that another
/// client still reads; none kept after a Reclaim or a disconnect.
/// </summary>
public class RecycleClientTests
{
    private const long MiB = 1 << 20;
    private const long Region = 256 * 1024; // objects up to 64 KiB go in regions
    private const int Size = 50_000;
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(5);

    private static async Task<PlasmaClient> ConnectWithRegions(ServerScope s)
    {
        var client = await PlasmaClient.ConnectAsync(s.SocketPath);
        client.UseRegions(Region);
        return client;
    }

    // Creates, fills and seals in a region (or a recycled block); returns the data's offset in the arena.
    private static unsafe long Put(PlasmaClient client, PlasmaObjectId id, byte[] data, out PlasmaBuffer kept)
    {
        var buffer = client.Create(id, data.Length);
        Assert.True(buffer.InRegion);
        var offset = (long)((byte*)buffer.Pointer - client.Arena.Base);
        data.CopyTo(buffer.Span);
        kept = buffer.SealKeepingView() ?? throw new InvalidOperationException("a region seal keeps a view");
        return offset;
    }

    // The creator's view goes, then its delete; the round trip after them orders both before it.
    private static async Task FreeAsync(PlasmaClient client, PlasmaObjectId id, PlasmaBuffer kept)
    {
        kept.Dispose();
        client.DeleteNoReply(id);
        Assert.False(await client.ContainsAsync(id));
    }

    [Fact]
    public async Task A_put_and_free_loop_creates_each_object_in_the_block_of_the_one_freed_before()
    {
        await using var s = ServerScope.Start(8 * MiB);
        await using var client = await ConnectWithRegions(s);
        var owner = NewOwner();
        var offsets = new List<long>();
        for (var i = 0; i < 50; i++)
        {
            var data = RandomBytes(Size, i);
            var id = Id(owner, (ulong)i);
            offsets.Add(Put(client, id, data, out var kept));
            Assert.True(kept.Span.SequenceEqual(data));
            using (var seen = await client.GetAsync(id, Wait)) Assert.True(seen.Span.SequenceEqual(data), $"object {i}");
            await FreeAsync(client, id, kept);
        }
        // From the second put on, the block freed last is back in this client's pool first.
        Assert.All(offsets.Skip(1), o => Assert.Equal(offsets[0], o));
        Assert.Equal(Charge(Size), s.Store.RecycledBytes);
        Assert.Equal(0, s.Store.Stats.Objects);
    }

    [Fact]
    public async Task A_block_another_client_still_reads_is_never_written_over()
    {
        await using var s = ServerScope.Start(8 * MiB);
        await using var writer = await ConnectWithRegions(s);
        await using var reader = await PlasmaClient.ConnectAsync(s.SocketPath);
        var owner = NewOwner();
        var first = RandomBytes(Size, 1);
        var read = Put(writer, Id(owner, 1), first, out var kept);
        var view = await reader.GetAsync(Id(owner, 1), Wait);
        Assert.Equal(read, view.Info.DataOffset);
        await FreeAsync(writer, Id(owner, 1), kept); // the writer is done with it; the reader is not

        // Put and free the same size again and again: every block is recycled, but not that one.
        for (var i = 2; i < 60; i++)
        {
            var data = RandomBytes(Size, i);
            var offset = Put(writer, Id(owner, (ulong)i), data, out var k);
            Assert.True(offset >= read + Charge(Size) || offset + Charge(Size) <= read,
                $"object {i} at {offset} overlaps the block another client reads at {read}");
            await FreeAsync(writer, Id(owner, (ulong)i), k);
        }
        Assert.True(view.Span.SequenceEqual(first), "the bytes another client reads changed");
        Assert.True(s.Store.RecycledBytes > 0, "the writer's other blocks were recycled");

        // The reader's release frees the block into the store's free space, not to the writer.
        var recycled = s.Store.RecycledBytes;
        view.Dispose();
        Assert.False(await reader.ContainsAsync(Id(owner, 1)));
        Assert.Equal(recycled, s.Store.RecycledBytes);
    }

    [Fact]
    public async Task A_reclaim_takes_back_the_recycled_blocks_and_a_disconnect_leaves_nothing()
    {
        await using var s = ServerScope.Start(2 * MiB);
        var keeper = await ConnectWithRegions(s);
        keeper.ReleaseUnusedViewsWhenAsked(() => 0);
        var owner = NewOwner();
        for (var i = 0; i < 8; i++)
        {
            var offset = Put(keeper, Id(owner, (ulong)i), RandomBytes(Size, i), out var kept);
            var second = Put(keeper, Id(owner, 100 + (ulong)i), RandomBytes(Size, i), out var kept2);
            Assert.NotEqual(offset, second);
            await FreeAsync(keeper, Id(owner, (ulong)i), kept);
            await FreeAsync(keeper, Id(owner, 100 + (ulong)i), kept2);
        }
        Assert.True(s.Store.RecycledBytes >= 2 * Charge(Size), $"{s.Store.RecycledBytes} bytes recycled");

        // Another client needs nearly the whole store: the keeper gives back its regions and
        // every recycled block (its mailbox stays) before it answers the Reclaim.
        await using var writer = await PlasmaClient.ConnectAsync(s.SocketPath);
        await writer.PutAsync(Id(owner, 1000), new byte[2 * MiB - RecycleMailbox.Bytes - 4096]);
        Assert.Equal(0, s.Store.RecycledBytes);
        Assert.Equal(0, s.Store.RegionBytes);
        Assert.Equal(0, keeper.Pooled.Blocks);
        Assert.Equal(0, s.Store.Stats.SpillCount);
        Assert.True(await writer.DeleteAsync(Id(owner, 1000)));

        // Recycled again, then gone with the client: the store holds nothing of it.
        var again = Put(keeper, Id(owner, 2000), RandomBytes(Size, 1), out var last);
        await FreeAsync(keeper, Id(owner, 2000), last);
        Assert.True(s.Store.RecycledBytes > 0);
        await keeper.DisposeAsync();
        await Eventually(() => s.Store.Stats.UsedBytes == 0, Wait, () => $"{s.Store.Stats.UsedBytes} bytes still used");
        Assert.Equal(0, s.Store.RegionBytes);
        _ = again;
    }

    [Fact]
    public async Task A_return_of_a_block_the_client_does_not_hold_gets_an_error_frame_and_the_close()
    {
        await using var s = ServerScope.Start(4 * MiB);
        await using var raw = await RawConnection.ConnectAsync(s.SocketPath);
        await raw.HelloAsync();
        var payload = new byte[4 + 16];
        BitConverter.TryWriteBytes(payload, 1u);
        BitConverter.TryWriteBytes(payload.AsSpan(4), 0L);
        BitConverter.TryWriteBytes(payload.AsSpan(12), 4096L);
        await raw.SendAsync(RawConnection.Frame((ushort)PlasmaMessageKind.ReturnBlocks, FrameFlags.NoReply, 3, payload));
        var refusal = await raw.ReadFrameAsync(Wait);
        Assert.NotNull(refusal);
        Assert.Equal(FrameFlags.Reply | FrameFlags.Error, refusal.Value.Header.Flags);
        Assert.Equal(3UL, refusal.Value.Header.RequestId);
        Assert.Equal((ushort)PlasmaStatus.InvalidRequest, BitConverter.ToUInt16(refusal.Value.Payload));
        Assert.True(await raw.ClosedByPeerAsync(Wait));
        Assert.Equal(0, s.Store.Stats.UsedBytes);
    }

    [Fact]
    public async Task Without_round_trips_a_freed_block_is_claimed_back_at_once_unless_another_client_read_it()
    {
        await using var s = ServerScope.Start(8 * MiB);
        await using var writer = await ConnectWithRegions(s);
        await using var reader = await PlasmaClient.ConnectAsync(s.SocketPath);
        var owner = NewOwner();
        // Put and free with nothing in between: each object goes in the block of the one before.
        var offsets = new List<long>();
        for (var i = 0; i < 40; i++)
        {
            offsets.Add(Put(writer, Id(owner, (ulong)i), RandomBytes(Size, i), out var kept));
            kept.Dispose();
            writer.DeleteNoReply(Id(owner, (ulong)i));
        }
        Assert.All(offsets, o => Assert.Equal(offsets[0], o));
        Assert.True(writer.ClaimsMade >= 39, $"{writer.ClaimsMade} claims");

        // An object another client read is never claimed: the next puts go elsewhere, its bytes stay.
        var shared = RandomBytes(Size, 100);
        var at = Put(writer, Id(owner, 100), shared, out var keptShared);
        using var view = await reader.GetAsync(Id(owner, 100), Wait);
        keptShared.Dispose();
        writer.DeleteNoReply(Id(owner, 100));
        for (var i = 101; i < 140; i++)
        {
            var offset = Put(writer, Id(owner, (ulong)i), RandomBytes(Size, i), out var k);
            Assert.True(offset >= at + Charge(Size) || offset + Charge(Size) <= at,
                $"object {i} at {offset} overlaps the block another client reads at {at}");
            k.Dispose();
            writer.DeleteNoReply(Id(owner, (ulong)i));
        }
        Assert.True(view.Span.SequenceEqual(shared), "the bytes another client reads changed");

        // A reader that asks after the claim does not find the object (its block holds the next one).
        var gone = Id(owner, 200);
        var goneAt = Put(writer, gone, RandomBytes(Size, 200), out var keptGone);
        var claims = writer.ClaimsMade;
        keptGone.Dispose();
        writer.DeleteNoReply(gone); // claimed here
        var nextAt = Put(writer, Id(owner, 201), RandomBytes(Size, 201), out var next);
        next.Dispose();
        Assert.Equal(claims + 1, writer.ClaimsMade);
        Assert.Equal(goneAt, nextAt);
        var error = await Assert.ThrowsAsync<PlasmaException>(async () => (await reader.GetAsync(gone, TimeSpan.FromMilliseconds(300))).Dispose());
        Assert.Equal(PlasmaStatus.Timeout, error.Status);
    }

    [Fact]
    public async Task A_view_held_in_another_process_keeps_its_block_through_a_put_and_free_loop()
    {
        await using var s = ServerScope.Start(8 * MiB);
        await using var writer = await ConnectWithRegions(s);
        var owner = NewOwner();
        var held = Id(owner, 1);
        var data = RandomBytes(Size, 1);
        var at = Put(writer, held, data, out var kept);
        using var child = TestClientProcess.Start("get-and-hang", s.SocketPath,
            held.Owner.ToString(CultureInfo.InvariantCulture), held.Sequence.ToString(CultureInfo.InvariantCulture));
        Assert.Equal($"holding length={data.Length} checksum={Fnv1a(data):x16}", await child.ReadLineAsync(TimeSpan.FromSeconds(30)));

        // The writer is done with it; the other process is not. Put and free with no round trip.
        kept.Dispose();
        writer.DeleteNoReply(held);
        for (var i = 2; i < 60; i++)
        {
            var offset = Put(writer, Id(owner, (ulong)i), RandomBytes(Size, i), out var k);
            Assert.True(offset >= at + Charge(Size) || offset + Charge(Size) <= at,
                $"object {i} at {offset} overlaps the block another process reads at {at}");
            k.Dispose();
            writer.DeleteNoReply(Id(owner, (ulong)i));
        }
        Assert.True(await writer.ContainsAsync(held) is false); // deleted for the writer; still held
        Assert.True(s.Store.Arena.Slice(at, data.Length).SequenceEqual(data), "the bytes another process reads changed");

        // The reader dies: the store frees the block (into its free space; the writer did not get it).
        var recycled = s.Store.RecycledBytes;
        child.Kill();
        await Eventually(() => s.Store.Stats.Objects == 0, Wait, () => $"{s.Store.Stats.Objects} objects; {child.Describe()}");
        Assert.Equal(recycled, s.Store.RecycledBytes);
    }
}
