using System.Runtime.CompilerServices;
using MemoryPack;

namespace Ray.Core.Tests;

[MemoryPackable]
public partial class RefHolder
{
    public string Label { get; set; } = "";
    [MemoryPackAllowSerialize]
    public ObjectRef<int>? Inner { get; set; }
}

public static class ObjFns
{
    public static int Gated(string key, int value) => Probe.Block(key, value);
    public static int Inc(int x) => x + 1;
    public static int SumRefs(List<ObjectRef<int>> refs) => refs.Sum(r => r.Get(Util.Long));
    public static int ReadHolder(RefHolder h) => h.Inner!.Get(Util.Long);
    public static string Str(int x) => x.ToString();
}

public class ObjectTests
{
    // ---- put / get ----

    [Fact]
    public async Task PutGet_Values()
    {
        await using var rt = Util.Start();
        var i = rt.Put(42);
        Assert.True(i.IsReady);
        Assert.Equal(42, i.Get());
        Assert.Equal(42, i.Get(TimeSpan.Zero));
        Assert.Equal(42, await i);
        Assert.Equal("hello", rt.Put("hello").Get(Util.Long));
        Assert.Null(rt.Put<string?>(null).Get(Util.Long));
        Assert.Equal(new[] { 1.5, 2.5 }, rt.Put(new[] { 1.5, 2.5 }).Get(Util.Long));
        Assert.Equal(new List<string> { "a", "b" }, rt.Put(new List<string> { "a", "b" }).Get(Util.Long));
        Assert.Equal((3, 4L), rt.Put((3, 4L)).Get(Util.Long));
        Assert.NotEqual(i.Id, rt.Put(42).Id);
    }

    [Fact]
    public async Task PutGet_LargeArray()
    {
        await using var rt = Util.Start();
        var big = Enumerable.Range(0, 2_000_000).ToArray();
        var r = rt.Put(big);
        var back = r.Get(Util.Long);
        Assert.Equal(big.Length, back.Length);
        Assert.True(big.AsSpan().SequenceEqual(back));
        Assert.Equal(2_000_000, rt.Task((int[] xs) => xs[^1] + 1).Remote(r).Get(Util.Long));
    }

    [Fact]
    public async Task GetMany_InOrder()
    {
        await using var rt = Util.Start();
        var refs = Enumerable.Range(0, 100).Select(i => i % 2 == 0 ? rt.Put(i) : rt.Task(ObjFns.Inc).Remote(i - 1)).ToArray();
        Assert.Equal(Enumerable.Range(0, 100), rt.Get(refs, Util.Long));
        Assert.Equal(Enumerable.Range(0, 100), await rt.GetAsync(refs));
        Assert.Empty(rt.Get(Array.Empty<ObjectRef<int>>(), Util.Long));
    }

    [Fact]
    public async Task GetWithTimeout_ThrowsAndObjectStaysReadable()
    {
        await using var rt = Util.Start();
        var key = Util.Key();
        try
        {
            var r = rt.Task(ObjFns.Gated).Remote(key, 9);
            Assert.Throws<GetTimeoutException>(() => r.Get(TimeSpan.FromMilliseconds(50)));
            Assert.Throws<GetTimeoutException>(() => r.Get(TimeSpan.Zero));
            Assert.Throws<GetTimeoutException>(() => rt.Get(new[] { rt.Put(1), r }, TimeSpan.FromMilliseconds(50)));
            Assert.False(r.WaitReady(TimeSpan.FromMilliseconds(10)));
            Assert.False(r.IsReady);
            Probe.Release(key);
            Assert.Equal(9, r.Get(Util.Long));
            Assert.Equal(new[] { 1, 9 }, rt.Get(new[] { rt.Put(1), r }, Util.Long));
        }
        finally { Probe.Release(key); }
    }

    // ---- wait ----

    [Fact]
    public async Task Wait_ReadyAndNotReady_KeepInputOrder()
    {
        await using var rt = Util.Start();
        var k0 = Util.Key();
        var k2 = Util.Key();
        try
        {
            var r0 = rt.Task(ObjFns.Gated).Remote(k0, 0);
            var r1 = rt.Put(1);
            var r2 = rt.Task(ObjFns.Gated).Remote(k2, 2);
            var r3 = rt.Put(3);
            var refs = new[] { r0, r1, r2, r3 };

            var (ready, notReady) = rt.Wait(refs, numReturns: 2, timeout: Util.Long);
            Assert.Equal(new[] { r1, r3 }, ready);
            Assert.Equal(new[] { r0, r2 }, notReady);

            // Not enough ready before the timeout: returns what is ready, no exception.
            var partial = rt.Wait(refs, numReturns: 3, timeout: TimeSpan.FromMilliseconds(50));
            Assert.Equal(new[] { r1, r3 }, partial.Ready);
            Assert.Equal(new[] { r0, r2 }, partial.NotReady);

            var zero = rt.Wait(refs, numReturns: 4, timeout: TimeSpan.Zero);
            Assert.Equal(2, zero.Ready.Count);

            Probe.Release(k2);
            var three = rt.Wait(refs, numReturns: 3, timeout: Util.Long);
            Assert.Equal(new[] { r1, r2, r3 }, three.Ready);
            Assert.Equal(new[] { r0 }, three.NotReady);

            Probe.Release(k0);
            var all = rt.Wait(refs, numReturns: 4, timeout: Util.Long);
            Assert.Equal(refs, all.Ready);
            Assert.Empty(all.NotReady);
        }
        finally
        {
            Probe.Release(k0);
            Probe.Release(k2);
        }
    }

    [Fact]
    public async Task Wait_LoopOverNotReady_ReturnsEachRefOnceInInputOrder()
    {
        // Ray's loop `ready, rest = wait(rest)`: the NotReady list goes back in (it skips the
        // uniqueness check then); refs finish out of order, so both the leading-ready fast path
        // and the general split are taken. Enough CPUs that every gated task runs at once.
        await using var rt = Util.Start(cpus: 8);
        var keys = Enumerable.Range(0, 7).Select(_ => Util.Key()).ToArray();
        try
        {
            var refs = keys.Take(6).Select((k, i) => rt.Task(ObjFns.Gated).Remote(k, i)).ToList();
            IReadOnlyList<ObjectRef<int>> rest = refs;
            var seen = new List<int>();
            foreach (var i in new[] { 3, 0, 5, 1, 4, 2 })
            {
                Probe.Release(keys[i]);
                var (ready, notReady) = rt.Wait(rest, timeout: Util.Long);
                seen.Add(Assert.Single(ready).Get(Util.Long));
                Assert.Equal(rest.Where(r => r != ready[0]), notReady);
                if (notReady.Count > 0) Assert.Throws<ArgumentOutOfRangeException>(() => rt.Wait(notReady, numReturns: notReady.Count + 1));
                rest = notReady;
            }
            Assert.Equal(new[] { 3, 0, 5, 1, 4, 2 }, seen);
            Assert.Empty(rest);
            Assert.Empty(rt.Wait(rest, numReturns: 0).Ready);

            // Timing out with fewer ready than asked, over a list that came out of Wait.
            var gated = rt.Task(ObjFns.Gated).Remote(keys[6], 7);
            var mixed = rt.Wait(new[] { gated, rt.Put(8), rt.Put(9) }, numReturns: 3, timeout: TimeSpan.Zero);
            Assert.Equal(new[] { 8, 9 }, mixed.Ready.Select(r => r.Get(Util.Long)));
            var again = rt.Wait(mixed.NotReady.Concat(mixed.Ready).ToArray(), numReturns: 3, timeout: TimeSpan.FromMilliseconds(20));
            Assert.Equal(2, again.Ready.Count);
            Assert.Equal(new[] { gated }, again.NotReady);
        }
        finally
        {
            foreach (var k in keys) Probe.Release(k);
        }
    }

    [Fact]
    public async Task Wait_ReadyHoldsAtMostNumReturns()
    {
        await using var rt = Util.Start();
        var refs = Enumerable.Range(0, 5).Select(i => rt.Put(i)).ToArray();
        var result = rt.Wait(refs, numReturns: 2, timeout: Util.Long);
        Assert.Equal(refs.Take(2), result.Ready);
        Assert.Equal(refs.Skip(2), result.NotReady);
        var one = rt.Wait(refs);
        _ = Assert.Single(one.Ready);
        Assert.Same(refs[0], one.Ready[0]);
    }

    [Fact]
    public async Task Wait_BlocksUntilEnoughReady()
    {
        await using var rt = Util.Start();
        var refs = Enumerable.Range(0, 6).Select(i => rt.Task(TaskFns.AddAsync).Remote(i, 1)).ToArray();
        var res = rt.Wait(refs, numReturns: 6, timeout: Util.Long);
        Assert.Equal(6, res.Ready.Count);
        Assert.All(refs, r => Assert.True(r.IsReady));
    }

    [Fact]
    public async Task Wait_MixedTypesAndFailedCountAsReady()
    {
        await using var rt = Util.Start();
        var a = rt.Put(1);
        var b = rt.Task(ObjFns.Str).Remote(2);
        var c = rt.Task(ErrFns.FailingTask).Remote(3);
        var refs = new ObjectRef[] { a, b, c };
        var res = rt.Wait(refs, numReturns: 3, timeout: Util.Long);
        Assert.Equal(refs, res.Ready);
    }

    [Fact]
    public async Task Wait_RejectsDuplicatesAndBadNumReturns()
    {
        await using var rt = Util.Start();
        var a = rt.Put(1);
        var b = rt.Put(2);
        Assert.ThrowsAny<ArgumentException>(() => rt.Wait(new[] { a, b, a }, 1, Util.Long));
        Assert.ThrowsAny<ArgumentException>(() => rt.Wait(new[] { a, b }, 3, Util.Long));
        Assert.ThrowsAny<ArgumentException>(() => rt.Wait(new[] { a, b }, -1, Util.Long));
        Assert.ThrowsAny<ArgumentException>(() => rt.Wait<ObjectRef<int>>(null!, 1, Util.Long));
        // Still usable afterwards.
        Assert.Equal(2, rt.Wait(new[] { a, b }, 2, Util.Long).Ready.Count);
    }

    // ---- reference counting ----

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void PutAndDrop(RayRuntime rt, int n)
    {
        for (var i = 0; i < n; i++) Assert.Equal(i, rt.Put(i).Get(Util.Long));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void SubmitAndDrop(RayRuntime rt, int n)
    {
        var refs = Enumerable.Range(0, n).Select(i => rt.Task(ObjFns.Inc).Remote(i)).ToArray();
        Assert.Equal(Enumerable.Range(1, n), rt.Get(refs, Util.Long));
    }

    [Fact]
    public async Task PutObjects_FreedWhenLastRefIsGone()
    {
        await using var rt = Util.Start();
        var before = rt.Stats;
        PutAndDrop(rt, 100);
        Assert.True(rt.Stats.ObjectsCreated >= before.ObjectsCreated + 100);
        Assert.True(Util.CollectUntil(() => rt.Stats.ObjectsFreed >= before.ObjectsFreed + 100), rt.Stats.ToString());
        Assert.True(Util.CollectUntil(() => rt.Stats.ObjectsLive <= before.ObjectsLive), rt.Stats.ToString());
    }

    [Fact]
    public async Task TaskResults_FreedWhenLastRefIsGone()
    {
        await using var rt = Util.Start();
        SubmitAndDrop(rt, 100);
        Assert.True(Util.CollectUntil(() => rt.Stats.ObjectsFreed >= 100), rt.Stats.ToString());
        Assert.True(Util.CollectUntil(() => rt.Stats.ObjectsLive == 0), rt.Stats.ToString());
    }

    [Fact]
    public async Task HeldRef_IsNotFreed()
    {
        await using var rt = Util.Start();
        var keep = rt.Put(new[] { 1, 2, 3 });
        PutAndDrop(rt, 20);
        Util.CollectUntil(() => rt.Stats.ObjectsFreed >= 20);
        Util.CollectUntil(() => false, rounds: 3);
        Assert.Equal(new[] { 1, 2, 3 }, keep.Get(Util.Long));
        Assert.True(rt.Stats.ObjectsLive >= 1);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static ObjectRef<RefHolder> MakeOuter(RayRuntime rt)
    {
        var inner = rt.Put(42);
        return rt.Put(new RefHolder { Label = "outer", Inner = inner });
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int ReadOuter(ObjectRef<RefHolder> outer)
    {
        var holder = outer.Get(Util.Long);
        Assert.Equal("outer", holder.Label);
        return holder.Inner!.Get(Util.Long);
    }

    [Fact]
    public async Task ObjectContainingRef_KeepsInnerAlive()
    {
        await using var rt = Util.Start();
        var outer = MakeOuter(rt);
        Util.CollectUntil(() => false, rounds: 5);
        Assert.Equal(2, rt.Stats.ObjectsLive);
        Assert.Equal(42, ReadOuter(outer));
        // A task reading the inner ref through the outer value also works.
        Assert.Equal(42, rt.Task(ObjFns.ReadHolder).Remote(outer).Get(Util.Long));
        GC.KeepAlive(outer);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void MakeAndReadOuter(RayRuntime rt) => Assert.Equal(42, ReadOuter(MakeOuter(rt)));

    [Fact]
    public async Task ObjectContainingRef_FreesInnerWithOuter()
    {
        await using var rt = Util.Start();
        MakeAndReadOuter(rt);
        Assert.True(Util.CollectUntil(() => rt.Stats.ObjectsLive == 0), rt.Stats.ToString());
        Assert.True(rt.Stats.ObjectsFreed >= 2);
    }

    [Fact]
    public async Task RefsNestedInArgument_ArePassedAsRefs()
    {
        await using var rt = Util.Start();
        var list = Enumerable.Range(1, 5).Select(i => rt.Task(ObjFns.Inc).Remote(i)).ToList();
        Assert.Equal(2 + 3 + 4 + 5 + 6, rt.Task(ObjFns.SumRefs).Remote(list).Get(Util.Long));
    }

    [Fact]
    public async Task RefInsideAValue()
    {
        // A ref held by a value travels as a ref (putting a bare ref is refused, as in Ray).
        await using var rt = Util.Start();
        var inner = rt.Put(5);
        var outer = rt.Put(new[] { inner });
        Assert.Equal(5, outer.Get(Util.Long)[0].Get(Util.Long));
        Assert.Equal(inner.Id, outer.Get(Util.Long)[0].Id);
        Assert.Throws<ArgumentException>(() => rt.Put(inner));
    }
}
