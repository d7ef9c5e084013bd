using Microsoft.Extensions.Logging.Abstractions;
using Ray.Contract.Ids;
using Ray.Plasma;
using Ray.Plasma.Client;
using Ray.Raylet.Client;
using Ray.Raylet.Node;
using static Ray.Raylet.Tests.LeaseKit;

namespace Ray.Raylet.Tests;

/// <summary>Owner ids carry their node's tag, and a raylet frees a finished job's objects by the ids it handed out.</summary>
public sealed class NodeUniqueIdTests : IAsyncDisposable
{
    private readonly string _dir = Path.Combine("/tmp", "rlt-ids-" + Guid.NewGuid().ToString("N")[..8]);

    public ValueTask DisposeAsync()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
        return ValueTask.CompletedTask;
    }

    private NodeManager Start(string name) => NodeManager.Start(new RayletOptions
    {
        SessionDir = Path.Combine(_dir, name),
        NumCpus = 1,
        ObjectStoreMemoryBytes = 4 << 20,
        PrestartWorkers = 0,
    }, NullLoggerFactory.Instance);

    [Fact]
    public async Task Drivers_of_two_raylets_on_one_machine_get_owner_ids_of_their_own_nodes_that_never_collide()
    {
        await using var a = Start("a");
        await using var b = Start("b");
        await using var onA = await RayletClient.ConnectAsync(a.Address, a.ClusterToken);
        await using var onB = await RayletClient.ConnectAsync(b.Address, b.ClusterToken);
        await using var secondOnA = await RayletClient.ConnectAsync(a.Address, a.ClusterToken);
        var ja = await onA.RegisterJobAsync(Job("ids a"));
        var jb = await onB.RegisterJobAsync(Job("ids b"));
        var ja2 = await secondOnA.RegisterJobAsync(Job("ids a2"));

        Assert.Equal(OwnerIds.NodeTagOf(a.NodeId.ToString()), OwnerIds.NodeTag(ja.OwnerId));
        Assert.Equal(OwnerIds.NodeTagOf(b.NodeId.ToString()), OwnerIds.NodeTag(jb.OwnerId));
        Assert.Equal(OwnerIds.NodeTag(ja.OwnerId), OwnerIds.NodeTag(ja2.OwnerId));
        Assert.NotEqual(OwnerIds.NodeTag(ja.OwnerId), OwnerIds.NodeTag(jb.OwnerId));
        // The same job number on both nodes, the same driver pid: the ids still differ.
        Assert.Equal(ja.JobId, jb.JobId);
        Assert.Equal(3, new HashSet<ulong> { ja.OwnerId, jb.OwnerId, ja2.OwnerId }.Count);
        Assert.DoesNotContain(0UL, new[] { ja.OwnerId, jb.OwnerId, ja2.OwnerId });
    }

    [Fact]
    public async Task A_finished_jobs_objects_are_freed_by_the_owner_ids_the_raylet_gave_it_not_by_decoding_pids()
    {
        await using var node = Start("free");
        var driver = await RayletClient.ConnectAsync(node.Address, node.ClusterToken);
        var job = await driver.RegisterJobAsync(Job("frees")); // registered with this process's pid
        await using var plasma = await PlasmaClient.ConnectAsync(job.PlasmaSocket);
        var mine = new PlasmaObjectId(job.OwnerId, 1);
        // An id laid out as ids once were, with this driver's pid in its top bits: not the job's.
        var pidShaped = new PlasmaObjectId(((ulong)Environment.ProcessId << 24) | 1, 1);
        foreach (var id in new[] { mine, pidShaped })
        {
            var buffer = await plasma.CreateAsync(id, 16, pinned: false);
            buffer.Span.Fill(7);
            await buffer.SealAsync();
        }
        Assert.True(await plasma.ContainsAsync(mine));

        await driver.DisposeAsync(); // the driver leaves: its job ends
        await TestUtil.EventuallyAsync(async () => !await plasma.ContainsAsync(mine), TimeSpan.FromSeconds(10),
            () => "the job's object stayed in the node's store after its driver left");
        Assert.True(await plasma.ContainsAsync(pidShaped), "an object of another owner was freed with the job");
    }
}
