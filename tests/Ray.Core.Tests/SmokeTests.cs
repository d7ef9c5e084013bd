namespace Ray.Core.Tests;

public static class Fns
{
    public static int Add(int a, int b) => a + b;
    public static int One() => 1;
}

public class Counter(int start)
{
    private int _value = start;
    public int Add(int x) => _value += x;
    public int Value => _value;
}

public class SmokeTests
{
    [Fact]
    public async Task TaskActorPut()
    {
        await using var rt = RayRuntime.Start(new RuntimeOptions { NumCpus = 2 });
        var r = rt.Task(Fns.Add).Remote(1, 2);
        Assert.Equal(3, await r);
        var r2 = rt.Task(Fns.Add).Remote(r, 10);
        Assert.Equal(13, r2.Get(TimeSpan.FromSeconds(5)));
        var c = rt.Actor<Counter>().Remote(5);
        _ = c.Task((Counter a, int x) => a.Add(x)).Remote(2);
        Assert.Equal(7, c.Task(a => a.Value).Remote().Get());
        var p = rt.Put(new List<int> { 1, 2 });
        Assert.Equal(2, p.Get().Count);
    }
}
