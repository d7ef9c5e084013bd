using Ray.Cluster.Wire;

namespace Ray.Cluster.WorkerSide;

/// <summary>
/// A remote function's typed call in a worker process, made once per function when it is
/// defined (generated per arity in WorkerInvokers.g.cs): <see cref="Bind"/> decodes each
/// argument from the wire as its own type into a <see cref="WorkerCall"/>, whose
/// <see cref="WorkerCall.Invoke"/> calls the function's delegate. No reflection per call.
/// </summary>
internal abstract class WorkerInvoker
{
    /// <summary>Decodes a call's arguments (after <paramref name="off"/>); an actor call passes its instance as the first.</summary>
    internal abstract WorkerCall Bind(ReadOnlySpan<byte> p, ref int off, object? actor, WorkerRuntime runtime);

    /// <summary>The first argument: the actor of an actor call, else decoded from the wire.</summary>
    protected static T First<T>(ReadOnlySpan<byte> p, ref int off, object? actor, WorkerRuntime runtime) =>
        actor is not null ? (T)actor : Next<T>(p, ref off, runtime);

    /// <summary>The next argument on the wire, decoded as <typeparamref name="T"/>.</summary>
    protected static T Next<T>(ReadOnlySpan<byte> p, ref int off, WorkerRuntime runtime) =>
        ValueWire.Decode<T>(ValueWire.Read(p, ref off), runtime.Store, runtime.OpenPlasma);
}
