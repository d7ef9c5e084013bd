namespace Ray;

/// <summary>
/// Per-call options of an actor method (Ray's <c>actor.method.options(...)</c>):
/// <c>handle.Task(a =&gt; a.Method()).Options(new ActorCallOptions { ... })</c>. Immutable.
/// </summary>
public sealed record ActorCallOptions
{
    /// <summary>
    /// How many refs the call gives: unset for what the call shape says; when set it must match it
    /// (1 for <c>Remote</c>, the tuple's arity for <c>RemoteMulti</c>; a stream has no fixed count).
    /// Below 1 is refused.
    /// </summary>
    public int? NumReturns { get; init; }

    /// <summary>
    /// For a streaming call (<c>RemoteStream</c>): at most this many items produced and not yet
    /// taken by the consumer; the generator pauses until the consumer takes one. 0 (the default):
    /// no bound, as in Ray. Below 0 is refused.
    /// </summary>
    public int GeneratorBackpressureItems { get; init; }
}
