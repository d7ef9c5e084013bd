using MemoryPack;

namespace Ray.Core.Tests;

/// <summary>Not MemoryPackable: the runtime cannot copy it.</summary>
public sealed class NotSerializable
{
    public int X { get; set; }
}

[MemoryPackable]
public partial class Person
{
    public string Name { get; set; } = "";
    public int Age { get; set; }
    public List<string> Tags { get; set; } = new();
    public Dictionary<string, int> Scores { get; set; } = new();
    public Address? Home { get; set; }
}

[MemoryPackable]
public partial class Address
{
    public string City { get; set; } = "";
    public int[] Zip { get; set; } = [];
}

[MemoryPackable]
public partial record Pair(int Left, string Right);

public struct Vec3
{
    public float X, Y, Z;
}

public static class SerFns
{
    public static int UseBad(NotSerializable x) => x.X;
    public static NotSerializable MakeBad(int x) => new() { X = x };

    public static Person Birthday(Person p)
    {
        p.Age++;
        p.Tags.Add("older");
        return p;
    }

    public static string Describe(Person p) => $"{p.Name}:{p.Age}:{string.Join(",", p.Tags)}:{p.Home?.City}";
    public static Pair Swap(Pair p) => new(p.Left * 2, p.Right + "!");
    public static int Count(List<int> xs) => xs.Count;
    public static int GatedCount(string key, List<int> xs) => Probe.Block(key, xs.Count);
    public static float SumVec(Vec3[] vs) => vs.Sum(v => v.X + v.Y + v.Z);
    public static long Checksum(byte[] data)
    {
        long s = 0;
        for (var i = 0; i < data.Length; i++) s += data[i] * (i % 7 + 1);
        return s;
    }
    public static Vec3 Scale(Vec3 v, float k) => new() { X = v.X * k, Y = v.Y * k, Z = v.Z * k };
}

public sealed class BadArgActor
{
    public BadArgActor() { }
    public BadArgActor(NotSerializable x) => _ = x;
    public int Use(NotSerializable x) => x.X;
    public int Count(List<int> xs) => xs.Count;
}

public class SerializationTests
{
    [Fact]
    public async Task UnserializableArgument_FailsAtRemote()
    {
        await using var rt = Util.Start();
        var e = Assert.Throws<RaySerializationException>(() => rt.Task(SerFns.UseBad).Remote(new NotSerializable { X = 1 }));
        Assert.Equal(typeof(NotSerializable), e.ValueType);
        Assert.Contains(nameof(NotSerializable), e.Message);
        Assert.Equal(0, rt.Stats.TasksSubmitted);
        Assert.Equal(3, rt.Task(DepFns.Add).Remote(1, 2).Get(Util.Long));
    }

    [Fact]
    public async Task UnserializablePut_Fails()
    {
        await using var rt = Util.Start();
        var e = Assert.Throws<RaySerializationException>(() => rt.Put(new NotSerializable()));
        Assert.Equal(typeof(NotSerializable), e.ValueType);
        Assert.Equal(0, rt.Stats.ObjectsLive);
    }

    [Fact]
    public async Task UnserializableResult_FailsOnGet()
    {
        await using var rt = Util.Start();
        var r = rt.Task(SerFns.MakeBad).Remote(1);
        var e = Assert.ThrowsAny<RayException>(() => r.Get(Util.Long));
        var se = Assert.Single(Util.Chain(e).OfType<RaySerializationException>());
        Assert.Equal(typeof(NotSerializable), se.ValueType);
    }

    [Fact]
    public async Task UnserializableActorArguments_FailAtRemote()
    {
        await using var rt = Util.Start();
        var e = Assert.Throws<RaySerializationException>(() => rt.Actor<BadArgActor>().Remote(new NotSerializable()));
        Assert.Equal(typeof(NotSerializable), e.ValueType);
        var h = rt.Actor<BadArgActor>().Remote();
        var e2 = Assert.Throws<RaySerializationException>(() =>
            h.Task((BadArgActor a, NotSerializable x) => a.Use(x)).Remote(new NotSerializable()));
        Assert.Equal(typeof(NotSerializable), e2.ValueType);
        Assert.Equal(2, h.Task((BadArgActor a, List<int> xs) => a.Count(xs)).Remote(new List<int> { 1, 2 }).Get(Util.Long));
    }

    [Fact]
    public async Task MemoryPackableTypes_RoundTrip()
    {
        await using var rt = Util.Start();
        var p = new Person
        {
            Name = "Ada",
            Age = 36,
            Tags = ["math", "engines"],
            Scores = new() { ["x"] = 1, ["y"] = 2 },
            Home = new Address { City = "London", Zip = [1, 2, 3] },
        };
        var stored = rt.Put(p).Get(Util.Long);
        Assert.NotSame(p, stored);
        Assert.Equal("Ada", stored.Name);
        Assert.Equal(36, stored.Age);
        Assert.Equal(p.Tags, stored.Tags);
        Assert.Equal(p.Scores, stored.Scores);
        Assert.Equal("London", stored.Home!.City);
        Assert.Equal(new[] { 1, 2, 3 }, stored.Home.Zip);

        var older = rt.Task(SerFns.Birthday).Remote(p).Get(Util.Long);
        Assert.Equal(37, older.Age);
        Assert.Equal(new[] { "math", "engines", "older" }, older.Tags);
        // The task got a copy: the caller's object is untouched.
        Assert.Equal(36, p.Age);
        Assert.Equal(2, p.Tags.Count);

        Assert.Equal("Ada:36:math,engines:London", rt.Task(SerFns.Describe).Remote(rt.Put(p)).Get(Util.Long));
        Assert.Equal(new Pair(4, "b!"), rt.Task(SerFns.Swap).Remote(new Pair(2, "b")).Get(Util.Long));
    }

    [Fact]
    public async Task MutationAfterPut_DoesNotChangeStoredValue()
    {
        await using var rt = Util.Start();
        var list = new List<int> { 1, 2, 3 };
        var r = rt.Put(list);
        list.Add(4);
        list[0] = 100;
        Assert.Equal(new[] { 1, 2, 3 }, r.Get(Util.Long));

        var arr = new[] { 1, 2, 3 };
        var ra = rt.Put(arr);
        arr[0] = 100;
        Assert.Equal(new[] { 1, 2, 3 }, ra.Get(Util.Long));

        var person = new Person { Name = "a", Tags = ["t"] };
        var rp = rt.Put(person);
        person.Name = "b";
        person.Tags.Add("u");
        Assert.Equal("a", rp.Get(Util.Long).Name);
        Assert.Equal(new[] { "t" }, rp.Get(Util.Long).Tags);
    }

    [Fact]
    public async Task MutatingAGotValue_DoesNotChangeStoredValue()
    {
        await using var rt = Util.Start();
        var r = rt.Put(new List<int> { 1, 2, 3 });
        var first = r.Get(Util.Long);
        first.Add(4);
        Assert.Equal(new[] { 1, 2, 3 }, r.Get(Util.Long));
        Assert.Equal(3, rt.Task(SerFns.Count).Remote(r).Get(Util.Long));
    }

    [Fact]
    public async Task MutationAfterRemote_DoesNotChangeTaskArgument()
    {
        await using var rt = Util.Start();
        var key = Util.Key();
        try
        {
            var list = new List<int> { 1, 2, 3 };
            var r = rt.Task(SerFns.GatedCount).Remote(key, list);
            list.Add(4);
            list.Add(5);
            Probe.Release(key);
            Assert.Equal(3, r.Get(Util.Long));
        }
        finally { Probe.Release(key); }
    }

    [Fact]
    public async Task UnmanagedArraysAndStructs()
    {
        await using var rt = Util.Start();
        var vs = Enumerable.Range(0, 100).Select(i => new Vec3 { X = i, Y = 1, Z = -1 }).ToArray();
        Assert.Equal(Enumerable.Range(0, 100).Sum(), rt.Task(SerFns.SumVec).Remote(vs).Get(Util.Long));
        var back = rt.Put(vs).Get(Util.Long);
        Assert.Equal(vs, back);

        var data = new byte[8 << 20];
        new Random(1).NextBytes(data);
        var expected = SerFns.Checksum(data);
        Assert.Equal(expected, rt.Task(SerFns.Checksum).Remote(data).Get(Util.Long));
        var put = rt.Put(data);
        Assert.True(data.AsSpan().SequenceEqual(put.Get(Util.Long)));
        Assert.Equal(expected, rt.Task(SerFns.Checksum).Remote(put).Get(Util.Long));

        Assert.Empty(rt.Put(Array.Empty<long>()).Get(Util.Long));
        Assert.Null(rt.Put<int[]?>(null).Get(Util.Long));

        var v = rt.Task(SerFns.Scale).Remote(new Vec3 { X = 1, Y = 2, Z = 3 }, 2f).Get(Util.Long);
        Assert.Equal((2f, 4f, 6f), (v.X, v.Y, v.Z));
    }

    [Fact]
    public async Task ArrayArgumentIsCopied()
    {
        await using var rt = Util.Start();
        var key = Util.Key();
        try
        {
            var arr = new byte[] { 1, 2, 3 };
            var r = rt.Task((string k, byte[] xs) => Probe.Block(k, xs[0])).Remote(key, arr);
            arr[0] = 99;
            Probe.Release(key);
            Assert.Equal(1, r.Get(Util.Long));
        }
        finally { Probe.Release(key); }
    }
}
