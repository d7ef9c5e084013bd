using Ray.Plasma.Store;
using Ray.Tests.Shared;
using static Ray.Plasma.Tests.TestUtil;

namespace Ray.Plasma.Tests;

/// <summary>
/// Where spilled objects go: a directory and files private to this user, and a full spill disk
/// reported as a full store while what was spilled stays readable. A 1 MiB arena holds five
/// 200 000-byte objects.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public class SpillDiskTests
{
    private const long Capacity = 1 << 20;
    private const int Size = 200_000;

    private static PlasmaObjectId[] Fill(PlasmaStore store, ulong owner, int count)
    {
        var ids = new PlasmaObjectId[count];
        for (var i = 0; i < count; i++)
        {
            ids[i] = Id(owner, (ulong)i);
            Put(store, ids[i], RandomBytes(Size, i));
        }
        return ids;
    }

    [Fact]
    public void Spill_files_and_their_directory_are_private_to_the_user()
    {
        using var s = new StoreScope(Capacity);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(s.SpillDirectory));
        Fill(s.Store, NewOwner(), 7); // two spilled
        var files = Directory.GetFiles(s.SpillDirectory);
        Assert.Equal(2, files.Length);
        foreach (var f in files) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(f));
    }

    [Fact]
    public void A_spill_directory_of_this_user_open_to_others_is_made_private_and_what_else_it_holds_is_kept()
    {
        var dir = Path.Combine(Path.GetTempPath(), "rp-open-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(dir);
        try
        {
            // Set after creating: a mode given to CreateDirectory is filtered by the umask. (What
            // an older store left: a session's spill directory made 0755.)
            File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
            File.WriteAllText(Path.Combine(dir, "keep.txt"), "mine");
            using (var store = new PlasmaStore(new PlasmaStoreOptions { Directory = Path.GetTempPath(), SpillDirectory = dir, CapacityBytes = Capacity, Prefault = PrefaultMode.None }))
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(dir));
                Fill(store, NewOwner(), 6);
                Assert.Single(Directory.GetFiles(dir, "*.spill"));
            }
            Assert.Equal([Path.Combine(dir, "keep.txt")], Directory.GetFiles(dir));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void A_spill_directory_that_is_a_link_is_refused_even_to_a_private_directory()
    {
        var target = Directory.CreateTempSubdirectory("rp-target-").FullName; // 0700, this user's
        var link = Path.Combine(Path.GetTempPath(), "rp-link-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateSymbolicLink(link, target);
        try
        {
            var e = Assert.Throws<IOException>(() => new StoreScope(Capacity, link));
            Assert.Contains(link, e.Message);
            Assert.Contains("symbolic link", e.Message);
        }
        finally
        {
            File.Delete(link);
            Directory.Delete(target, recursive: true);
        }
    }

    [Fact]
    public void A_private_spill_directory_of_another_user_is_refused()
    {
        if (Environment.UserName != "root") return; // only root can give a directory away
        var dir = Directory.CreateTempSubdirectory("rp-foreign-").FullName; // 0700
        try
        {
            using (var chown = System.Diagnostics.Process.Start("chown", ["12345", dir])) chown.WaitForExit();
            var e = Assert.Throws<IOException>(() => new StoreScope(Capacity, dir));
            Assert.Contains(dir, e.Message);
            Assert.Contains("owned by uid 12345", e.Message);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [SmallDiskFact]
    public void A_put_that_cannot_spill_on_a_full_disk_is_a_full_store_and_spilled_objects_stay_readable()
    {
        // Room on disk for three spilled objects (49 pages each), not four.
        using var disk = SmallDisk.Mount(150 * 4096);
        using var s = new StoreScope(Capacity, Path.Combine(disk.Path, "spill"));
        var store = s.Store;
        var owner = NewOwner();
        var ids = Fill(store, owner, 8); // 0..2 spilled, 3..7 in memory
        Assert.Equal(3, store.Stats.SpilledObjectsNow);

        var ex = Assert.Throws<ObjectStoreFullException>(() => store.Create(Id(owner, 100), Size));
        Assert.Equal(PlasmaStatus.StoreFull, ex.Status);
        Assert.NotNull(ex.SpillFailure);
        Assert.Contains("spilling", ex.Message);
        Assert.Contains((PlasmaStore.HeaderSize + Size).ToString(), ex.Message);
        Assert.Equal(8, store.Stats.Objects);
        Assert.Equal(3, store.Stats.SpilledObjectsNow);
        Assert.Equal(3, Directory.GetFiles(s.SpillDirectory).Length); // the failed one's file is gone

        // A known limit: with memory and disk both full, a spilled object cannot be read back yet
        // (its restore must spill another first); the error says so, and its file stays.
        var read = Assert.Throws<ObjectStoreFullException>(() => store.TryGet(ids[0], out _));
        Assert.Contains("free an object", read.Message);
        Assert.Equal(3, store.Stats.SpilledObjectsNow);

        // Nothing lost: with one object freed, every other one reads back (restoring frees disk).
        Assert.True(store.Delete(ids[7]));
        for (var round = 0; round < 2; round++)
            for (var i = 0; i < 7; i++)
            {
                Assert.True(store.TryGet(ids[i], out var info), $"object {i}");
                Assert.True(store.Arena.Slice(info.DataOffset, info.DataSize).SequenceEqual(RandomBytes(Size, i)), $"object {i}");
                store.Release(ids[i]);
            }
        Put(store, Id(owner, 101), new byte[Size]); // and puts spill again
    }
}
