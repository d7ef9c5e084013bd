using Ray.Tests.Shared;

namespace Ray.Core.Tests;

/// <summary>The README's promise when spilling cannot make room: a put fails with ObjectStoreFullException, nothing stored is lost.</summary>
public class SpillDiskFullTests
{
    private const int Size = 2 << 20;

    private static byte[] Pattern(int seed)
    {
        var b = new byte[Size];
        new Random(seed).NextBytes(b);
        return b;
    }

    [SmallDiskFact]
    public async Task A_put_on_a_full_spill_disk_is_ObjectStoreFull_and_spilled_objects_stay_readable()
    {
        // An 8 MiB store holds three 2 MiB objects; the disk holds two spilled ones, not three.
        using var disk = SmallDisk.Mount(5 << 20);
        var dir = Path.Combine(Path.GetTempPath(), "ray-sdf-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        try
        {
            await using var rt = RayRuntime.Start(new RuntimeOptions
            {
                NumCpus = 1,
                ObjectStoreMemoryBytes = 8 << 20,
                ObjectStoreDirectory = dir,
                SpillDirectory = Path.Combine(disk.Path, "spill"),
            });
            var refs = Enumerable.Range(0, 5).Select(i => rt.Put(Pattern(i))).ToList(); // two spilled
            var e = Assert.Throws<ObjectStoreFullException>(() => rt.Put(Pattern(99)));
            Assert.Equal(RayErrorCode.ObjectStoreFull, e.Code);
            Assert.Contains("spilling", e.Message);
            Assert.Contains("bytes requested", e.Message);

            // Free one object in memory: every other one, spilled or not, reads back as it was.
            refs[4].Dispose();
            for (var round = 0; round < 2; round++)
                for (var i = 0; i < 4; i++) Assert.Equal(Pattern(i), refs[i].Get(Util.Long));
        }
        finally { Directory.Delete(dir, true); }
    }
}
