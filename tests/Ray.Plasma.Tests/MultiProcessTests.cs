using System.Globalization;
using Ray.Plasma.Client;
using static Ray.Plasma.Tests.TestUtil;

namespace Ray.Plasma.Tests;

/// <summary>
/// A second dotnet process (Ray.Plasma.TestClient) talks to the store this process serves.
/// Every child is killed by its pid in a finally, whatever happens.
/// </summary>
public class MultiProcessTests
{
    private const long MiB = 1 << 20;
    private static readonly TimeSpan ChildStart = TimeSpan.FromSeconds(30); // a cold dotnet start on a busy 2-core box

    private static string[] Args(string mode, string socket, PlasmaObjectId id, params string[] more) =>
        [mode, socket, id.Owner.ToString(CultureInfo.InvariantCulture), id.Sequence.ToString(CultureInfo.InvariantCulture), .. more];

    [Fact]
    public async Task Another_process_reads_an_object_sealed_here_with_the_same_bytes()
    {
        await using var s = ServerScope.Start(4 * MiB);
        var local = new PlasmaLocalClient(s.Store);
        var id = Id(NewOwner(), 1);
        var data = RandomBytes(1_000_003, 42);
        var w = local.Create(id, data.Length);
        data.CopyTo(w.Span);
        await w.SealAsync();

        using var child = TestClientProcess.Start(Args("read", s.SocketPath, id));
        var line = await child.ReadLineAsync(ChildStart);
        var exit = await child.WaitForExitAsync(TimeSpan.FromSeconds(20));
        Assert.True(exit == 0, $"the reader failed: {child.Describe()}");
        var fields = line.Split(' ').Select(f => f.Split('=')).ToDictionary(kv => kv[0], kv => kv[1]);
        Assert.Equal(data.Length.ToString(CultureInfo.InvariantCulture), fields["length"]);
        Assert.Equal(Fnv1a(data).ToString("x16"), fields["checksum"]);
        Assert.Equal("True", fields["zerocopy"]); // its view pointed into its own mapping of the arena
        Assert.StartsWith("0x", fields["pointer"]);

        // It released its view (explicitly, and by disconnecting): delete frees at once.
        await Eventually(() => s.Server.ConnectionCount == 0, TimeSpan.FromSeconds(10), () => $"{s.Server.ConnectionCount} connections");
        Assert.True(s.Store.Delete(id));
        Assert.Equal(0, s.Store.Stats.UsedBytes);
    }

    [Fact]
    public async Task A_writer_killed_mid_write_leaves_no_reservation()
    {
        await using var s = ServerScope.Start(4 * MiB);
        var id = Id(NewOwner(), 1);
        const long size = 1_000_000;
        var before = s.Store.Stats;

        using (var child = TestClientProcess.Start(Args("write-and-hang", s.SocketPath, id, size.ToString(CultureInfo.InvariantCulture))))
        {
            Assert.Equal("reserved", await child.ReadLineAsync(ChildStart));
            Assert.Equal(before.UsedBytes + Charge(size), s.Store.Stats.UsedBytes);
            Assert.False(s.Store.Contains(id)); // reserved, not sealed
            Assert.Equal(1, s.Server.ConnectionCount);

            child.Kill();
            await Eventually(() => s.Store.Stats.UsedBytes == before.UsedBytes, TimeSpan.FromSeconds(5),
                () => $"used {s.Store.Stats.UsedBytes}, expected {before.UsedBytes}; {child.Describe()}");
        }
        Assert.False(s.Store.Contains(id));
        Assert.Equal(before.Objects, s.Store.Stats.Objects);
        await Eventually(() => s.Server.ConnectionCount == 0, TimeSpan.FromSeconds(5), () => $"{s.Server.ConnectionCount} connections");
        Put(s.Store, id, new byte[10]); // the id is free for a retry
    }

    [Fact]
    public async Task A_reader_killed_while_holding_a_view_releases_its_reference()
    {
        await using var s = ServerScope.Start(4 * MiB);
        var id = Id(NewOwner(), 1);
        var data = RandomBytes(300_000, 9);
        Put(s.Store, id, data, pinned: false);

        using (var child = TestClientProcess.Start(Args("get-and-hang", s.SocketPath, id)))
        {
            var line = await child.ReadLineAsync(ChildStart);
            Assert.Equal($"holding length={data.Length} checksum={Fnv1a(data):x16}", line);
            // Held: delete is deferred, and the object is not evictable.
            Assert.True(s.Store.Delete(id));
            Assert.Equal(Charge(data.Length), s.Store.Stats.UsedBytes);

            child.Kill();
            await Eventually(() => s.Store.Stats.UsedBytes == 0, TimeSpan.FromSeconds(5),
                () => $"used {s.Store.Stats.UsedBytes} after the reader died; {child.Describe()}");
        }
        Assert.Equal(0, s.Store.Stats.Objects);
    }

    [Fact]
    public async Task An_unpinned_object_held_by_a_killed_reader_becomes_evictable()
    {
        await using var s = ServerScope.Start(1 * MiB);
        var owner = NewOwner();
        var held = Id(owner, 1);
        Put(s.Store, held, new byte[600_000], pinned: false);

        using (var child = TestClientProcess.Start(Args("get-and-hang", s.SocketPath, held)))
        {
            Assert.StartsWith("holding length=600000", await child.ReadLineAsync(ChildStart));
            // 600 KB held of 1 MiB: another 600 KB cannot fit while the view lives.
            var full = Assert.Throws<ObjectStoreFullException>(() => s.Store.Create(Id(owner, 2), 600_000));
            Assert.Equal(Charge(600_000), full.InUseBytes);
            Assert.True(s.Store.Contains(held));

            child.Kill();
            await Eventually(() =>
            {
                try { s.Store.Create(Id(owner, 2), 600_000); return true; }
                catch (ObjectStoreFullException) { return false; }
            }, TimeSpan.FromSeconds(5), () => $"still full after the reader died; {child.Describe()}");
        }
        Assert.False(s.Store.Contains(held)); // evicted to make room
        Assert.Equal(1, s.Store.Stats.Evictions);
    }

    [Fact]
    public async Task A_view_that_outlives_its_client_throws_instead_of_touching_unmapped_memory()
    {
        // PlasmaBuffer promises ObjectDisposedException rather than reading memory it no longer
        // holds. Disposing the client unmaps its arena; a view left over must not crash the
        // process (run in a child: a SIGSEGV here would take the test host down).
        await using var s = ServerScope.Start(1 * MiB);
        var id = Id(NewOwner(), 1);
        Put(s.Store, id, new byte[] { 42 });
        using var child = TestClientProcess.Start(Args("read-after-close", s.SocketPath, id));
        Assert.Equal("got", await child.ReadLineAsync(ChildStart));
        var exit = await child.WaitForExitAsync(TimeSpan.FromSeconds(20));
        Assert.True(exit == 0, $"the process died touching a view after its client was disposed: {child.Describe()}");
        Assert.True(child.StdoutLines()[^1] == "ObjectDisposedException", child.Describe());
    }
}
