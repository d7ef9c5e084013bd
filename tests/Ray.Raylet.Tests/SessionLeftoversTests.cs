using Ray.Raylet.Session;

namespace Ray.Raylet.Tests;

/// <summary>What a dead raylet's session leftovers removal takes from the spill directory, and what it leaves.</summary>
public class SessionLeftoversTests
{
    [Fact]
    public void A_dead_raylets_spill_files_are_removed_but_not_other_files_or_through_links()
    {
        var dir = Directory.CreateTempSubdirectory("rlt-left-").FullName;
        var outside = Directory.CreateTempSubdirectory("rlt-out-").FullName;
        try
        {
            var session = new SessionLayout(dir);
            Directory.CreateDirectory(session.SpillDirectory);
            var spilled = Path.Combine(session.SpillDirectory, "00000000000000010000000000000002.spill");
            File.WriteAllBytes(spilled, new byte[1024]);
            var other = Path.Combine(session.SpillDirectory, "notes.txt");
            File.WriteAllText(other, "mine");
            var target = Path.Combine(outside, "precious.spill");
            File.WriteAllText(target, "precious");
            var link = Path.Combine(session.SpillDirectory, "link.spill");
            File.CreateSymbolicLink(link, target);

            var removed = SessionLeftovers.Remove(session, info: null);

            Assert.Contains(spilled, removed);
            Assert.False(File.Exists(spilled));
            Assert.True(File.Exists(other));
            Assert.True(File.Exists(target)); // a link is not followed (nor removed)
            Assert.DoesNotContain(link, removed);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
            Directory.Delete(outside, recursive: true);
        }
    }

    [Fact]
    public void A_spill_directory_that_is_a_link_is_not_entered()
    {
        var dir = Directory.CreateTempSubdirectory("rlt-left-").FullName;
        var outside = Directory.CreateTempSubdirectory("rlt-out-").FullName;
        try
        {
            var session = new SessionLayout(dir);
            var elsewhere = Path.Combine(outside, "x.spill");
            File.WriteAllText(elsewhere, "someone's");
            Directory.CreateSymbolicLink(session.SpillDirectory, outside);

            SessionLeftovers.Remove(session, info: null);

            Assert.True(File.Exists(elsewhere));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
            Directory.Delete(outside, recursive: true);
        }
    }
}
