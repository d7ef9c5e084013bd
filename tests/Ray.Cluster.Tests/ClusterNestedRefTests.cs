using MemoryPack;

namespace Ray.Cluster.Tests;

[MemoryPackable]
public partial class Batch
{
    public string Name { get; set; } = "";
    public List<ObjectRef<long>> Parts { get; set; } = [];
}

public static class NestedRefFns
{
    public static long Square(long x) { Thread.Sleep(20); return x * x; }
    public static long Fail(long x) => throw new InvalidOperationException("part " + x + " failed");
    public static long SumParts(List<ObjectRef<long>> parts) => parts.Sum(p => p.Get(TimeSpan.FromSeconds(30)));
    public static string Describe(Batch b) => b.Name + "=" + b.Parts.Sum(p => p.Get(TimeSpan.FromSeconds(30)));

    public static string Errors(List<ObjectRef<long>> parts) => string.Join(",", parts.Select(p =>
    {
        try { return p.Get(TimeSpan.FromSeconds(30)).ToString(); }
        catch (RayTaskException e) { return e.Message.Contains("failed", StringComparison.Ordinal) ? "error" : "?"; }
    }));

    /// <summary>Refs to nested tasks' results, returned inside a list.</summary>
    public static List<ObjectRef<long>> Fan(int n) =>
        Enumerable.Range(1, n).Select(i => RayRuntime.Current.Task(Square).Remote((long)i)).ToList();

    public static Batch MakeBatch(int n) => new() { Name = "b" + n, Parts = Fan(n) };

    /// <summary>A ref received from the driver, put again inside a value in the worker and read back there.</summary>
    public static long RePut(ObjectRef<long> r)
    {
        var holder = RayRuntime.Current.Put(new List<ObjectRef<long>> { r });
        return holder.Get(TimeSpan.FromSeconds(30)).Sum(x => x.Get(TimeSpan.FromSeconds(30)));
    }
}

/// <summary>Refs inside values (lists, MemoryPack objects) crossing into and out of worker processes.</summary>
[Collection("cluster")]
public sealed class ClusterNestedRefTests
{
    [Fact]
    public async Task A_list_of_refs_reaches_a_task_once_all_are_ready()
    {
        await using var cluster = await ClusterScope.StartAsync();
        await using var ray = cluster.Connect();
        var parts = Enumerable.Range(1, 6).Select(i => ray.Task(NestedRefFns.Square).Remote((long)i)).ToList();
        Assert.Equal(91, await ray.Task(NestedRefFns.SumParts).Remote(parts));
        var batch = new Batch { Name = "puts", Parts = [ray.Put(5L), ray.Put(6L), parts[0]] };
        Assert.Equal("puts=12", await ray.Task(NestedRefFns.Describe).Remote(batch));
        // The same value put first, then passed by reference: its refs travel with it too.
        var stored = ray.Put(batch);
        Assert.Equal("puts=12", await ray.Task(NestedRefFns.Describe).Remote(stored));
    }

    [Fact]
    public async Task A_failed_ref_inside_a_value_fails_only_its_get()
    {
        await using var cluster = await ClusterScope.StartAsync();
        await using var ray = cluster.Connect();
        var parts = new List<ObjectRef<long>> { ray.Put(1L), ray.Task(NestedRefFns.Fail).Remote(2L), ray.Put(3L) };
        Assert.Equal("1,error,3", await ray.Task(NestedRefFns.Errors).Remote(parts));
    }

    [Fact]
    public async Task On_one_CPU_a_task_returning_refs_to_its_children_lends_its_CPU_while_it_waits_for_them()
    {
        // The parent holds the only CPU; its children can run only if the parent's wait for
        // them (before its reply) lends that CPU out, as a Get inside a task does.
        await using var cluster = await ClusterScope.StartAsync(cpus: 1);
        await using var ray = cluster.Connect();
        var list = ray.Task(NestedRefFns.Fan).Remote(3).Get(TimeSpan.FromSeconds(60));
        Assert.Equal(new long[] { 1, 4, 9 }, list.Select(r => r.Get(TimeSpan.FromSeconds(30))));
        var batch = ray.Task(NestedRefFns.MakeBatch).Remote(2).Get(TimeSpan.FromSeconds(60));
        Assert.Equal(5, batch.Parts.Sum(r => r.Get(TimeSpan.FromSeconds(30))));
    }

    [Fact]
    public async Task A_ref_from_the_driver_put_again_inside_a_value_in_the_worker_reads_back()
    {
        await using var cluster = await ClusterScope.StartAsync();
        await using var ray = cluster.Connect();
        Assert.Equal(42, await ray.Task(NestedRefFns.RePut).Remote(ray.Put(42L)));
    }

    [Fact]
    public async Task Refs_inside_a_result_come_back_with_their_values()
    {
        await using var cluster = await ClusterScope.StartAsync();
        await using var ray = cluster.Connect();
        var list = await ray.Task(NestedRefFns.Fan).Remote(4);
        Assert.Equal(new long[] { 1, 4, 9, 16 }, list.Select(r => r.Get(TimeSpan.FromSeconds(30))));
        var batch = await ray.Task(NestedRefFns.MakeBatch).Remote(3);
        Assert.Equal("b3", batch.Name);
        Assert.Equal(14, batch.Parts.Sum(r => r.Get(TimeSpan.FromSeconds(30))));
        // And they go on to further tasks from here.
        Assert.Equal(30, await ray.Task(NestedRefFns.SumParts).Remote(list));
    }
}
