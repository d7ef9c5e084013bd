using Ray.Tests.Shared;

namespace Ray.Cluster.Tests;

/// <summary>A real raylet whose spill disk fills: a driver's put is a full store, and nothing spilled is lost.</summary>
[Collection("cluster")]
public sealed class ClusterSpillDiskTests
{
    private const int ObjectBytes = 16 << 20;

    [SmallDiskFact]
    public async Task A_put_on_a_raylet_whose_spill_disk_is_full_is_ObjectStoreFull_and_spilled_objects_stay_readable()
    {
        SmallDisk? disk = null;
        string? session = null;
        try
        {
            // A 256 MiB store holds 15 objects of 16 MiB; the 40 MiB spill disk two more.
            await using (var cluster = await ClusterScope.StartAsync(beforeStart: dir =>
                         {
                             session = dir;
                             disk = SmallDisk.MountAt(Path.Combine(dir, "spill"), 40 << 20);
                         }))
            {
                await using var ray = cluster.Connect();
                var refs = new List<ObjectRef<byte[]>>();
                var digests = new List<long>();
                ObjectStoreFullException? full = null;
                for (var i = 0; i < 24 && full is null; i++)
                {
                    var data = SpillFns.Fill(ObjectBytes, 3000 + i);
                    try
                    {
                        refs.Add(ray.Put(data));
                        digests.Add(SpillFns.Digest(data));
                    }
                    catch (ObjectStoreFullException e) { full = e; }
                }
                Assert.NotNull(full);
                Assert.Contains("spilling", full!.Message);
                Assert.True(refs.Count >= 16, $"full after {refs.Count} puts"); // some were spilled first

                // Free one object: every other one, spilled or not, reads back as it was.
                refs[^1].Dispose();
                for (var i = 0; i < refs.Count - 1; i++)
                    Assert.True(digests[i] == SpillFns.Digest(refs[i].Get(TimeSpan.FromSeconds(60))), $"object {i} came back different");
            }
        }
        finally
        {
            disk?.Dispose();
            if (session is not null) try { Directory.Delete(session, recursive: true); } catch (IOException) { }
        }
    }
}
