using Ray.Objects;

namespace Ray.Tasks;

/// <summary>Makes the owner's stream of a streaming call (see <see cref="ItemStream"/>).</summary>
internal static class StreamCalls
{
    internal static ItemStream<T> Create<T>(Runtime.RuntimeCore core, int backpressureItems, string name)
    {
        core.ThrowIfStopped();
        ReturnCount.CheckBackpressure(backpressureItems, name);
        return new ItemStream<T>(core.Store, backpressureItems, name);
    }
}
