namespace Ray.Core.Tests;

public sealed class Singleton
{
    public static int Made;
    public Singleton() { Interlocked.Increment(ref Made); Thread.Sleep(20); }
    public int Ping() => 1;
}

public sealed class DetachingParent
{
    public ActorHandle<OtherType> MakeChild(bool detached) =>
        RayRuntime.Current.Actor<OtherType>(new ActorOptions { Lifetime = detached ? ActorLifetime.Detached : ActorLifetime.Owned }).Remote();
}

public sealed class OtherType
{
    public int Ping() => 2;
}

/// <summary>Named actors per namespace and GetIfExists on an embedded runtime (issue 13).</summary>
public sealed class NamedActorTests
{
    [Fact]
    public async Task Names_are_per_namespace()
    {
        await using var ray = RayRuntime.Start(new RuntimeOptions { NumCpus = 2, Namespace = "team" });
        Assert.Equal("team", ray.Namespace);
        var mine = ray.Actor<OtherType>(new ActorOptions { Name = "svc" }).Remote();
        var theirs = ray.Actor<OtherType>(new ActorOptions { Name = "svc", Namespace = "other" }).Remote(); // the same name elsewhere
        Assert.NotEqual(mine.Id, theirs.Id);
        Assert.Equal(mine.Id, ray.GetActor<OtherType>("svc").Id);
        Assert.Equal(theirs.Id, ray.GetActor<OtherType>("svc", "other").Id);
        Assert.Null(ray.TryGetActor<OtherType>("svc", "third"));
        var e = Assert.Throws<ActorNotFoundException>(() => ray.GetActor<OtherType>("svc", "third"));
        Assert.Contains("namespace 'third'", e.Message);
        Assert.Throws<ArgumentException>(() => ray.Actor<OtherType>(new ActorOptions { Name = "svc" }).Remote());
        Assert.Throws<ArgumentException>(() => ray.Actor<OtherType>(new ActorOptions { Name = "x", Namespace = " " }).Remote());
        Assert.Throws<ArgumentException>(() => RayRuntime.Start(new RuntimeOptions { Namespace = "" }));
    }

    [Fact]
    public async Task Without_a_namespace_each_runtime_has_an_anonymous_one()
    {
        await using var ray = Util.Start();
        Assert.StartsWith("anonymous-", ray.Namespace);
        var a = ray.Actor<OtherType>(new ActorOptions { Name = "n" }).Remote();
        Assert.Equal(a.Id, ray.GetActor<OtherType>("n").Id);
        Assert.Equal(a.Id, ray.GetActor<OtherType>("n", ray.Namespace).Id);
    }

    [Fact]
    public async Task GetIfExists_makes_one_actor_however_many_callers_race()
    {
        await using var ray = Util.Start();
        var before = Volatile.Read(ref Singleton.Made);
        var options = new ActorOptions { Name = "one", GetIfExists = true };
        var handles = new ActorHandle<Singleton>[16];
        Parallel.For(0, handles.Length, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i => handles[i] = ray.Actor<Singleton>(options).Remote());
        Assert.Single(handles.Select(h => h.Id).Distinct());
        Assert.Equal(1, await handles[5].Task(s => s.Ping()).Remote());
        Assert.Equal(before + 1, Volatile.Read(ref Singleton.Made));
        Assert.Throws<ActorNotFoundException>(() => ray.Actor<OtherType>(new ActorOptions { Name = "one", GetIfExists = true }).Remote()); // another type
        Assert.Throws<ArgumentException>(() => ray.Actor<OtherType>(new ActorOptions { GetIfExists = true }).Remote()); // no name
        ray.Kill(handles[0]);
        var fresh = ray.Actor<Singleton>(options).Remote(); // the name is free again: a new one
        Assert.NotEqual(handles[0].Id, fresh.Id);
    }

    [Fact]
    public async Task Kill_without_no_restart_is_refused_embedded_where_there_is_no_process()
    {
        await using var ray = Util.Start();
        var a = ray.Actor<OtherType>(new ActorOptions { MaxRestarts = 1 }).Remote();
        Assert.Equal(2, await a.Task(o => o.Ping()).Remote());
        var e = Assert.Throws<NotSupportedException>(() => ray.Kill(a, noRestart: false));
        Assert.Contains("no worker process", e.Message);
        Assert.True(a.IsAlive);
        ray.Kill(a, noRestart: true);
        Assert.True(Util.Eventually(() => !a.IsAlive));
    }

    [Fact]
    public async Task A_detached_actor_made_by_an_actor_outlives_it()
    {
        await using var ray = Util.Start();
        var parent = ray.Actor<DetachingParent>().Remote();
        var owned = await parent.Task((DetachingParent p, bool d) => p.MakeChild(d)).Remote(false);
        var detached = await parent.Task((DetachingParent p, bool d) => p.MakeChild(d)).Remote(true);
        ray.Kill(parent);
        Assert.True(Util.Eventually(() => !owned.IsAlive)); // Ray's owner rule
        Assert.Equal(2, await detached.Task(o => o.Ping()).Remote());
        Assert.True(detached.IsAlive);
    }
}
