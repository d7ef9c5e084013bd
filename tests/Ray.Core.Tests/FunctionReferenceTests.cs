namespace Ray.Core.Tests;

public class FunctionReferenceTests
{
    private static long Twice(long x) => x * 2;

    [Fact]
    public void StaticMethodRoundTripsThroughItsWireForm()
    {
        var r = FunctionReference.Of((Func<long, long>)Twice);
        Assert.Equal(nameof(Twice), r.MethodName);
        var back = FunctionReference.Parse(r.ToString());
        Assert.Equal(r, back);
        Assert.Equal(42, back.Resolve<Func<long, long>>()(21));
        Assert.Same(back.Resolve<Func<long, long>>(), back.Resolve<Func<long, long>>()); // cached
    }

    [Fact]
    public void CaptureFreeLambdaResolvesOnItsClosureSingleton()
    {
        var r = FunctionReference.Parse(FunctionReference.Of((Func<string, int>)(s => s.Length + 1)).ToString());
        Assert.Equal(4, r.Resolve<Func<string, int>>()("abc"));
    }

    [Fact]
    public void CapturingLambdaIsRefused()
    {
        var k = Random.Shared.Next(1, 10);
        var e = Assert.Throws<ArgumentException>(() => FunctionReference.Of((Func<int, int>)(x => x + k)));
        Assert.Contains("captures", e.Message);
    }

    [Fact]
    public void WrongDelegateShapeAndUnknownMethodAndBadTextFailClearly()
    {
        var r = FunctionReference.Of((Func<long, long>)Twice);
        Assert.Throws<InvalidOperationException>(() => r.Resolve<Func<string, string>>());
        Assert.Throws<InvalidOperationException>(() => (r with { MethodName = "Nope" }).Resolve<Func<long, long>>());
        Assert.Throws<InvalidOperationException>(() => (r with { TypeName = "No.Such.Type, NoSuchAssembly" }).Resolve<Func<long, long>>());
        Assert.Throws<FormatException>(() => FunctionReference.Parse("nonsense"));
    }
}
