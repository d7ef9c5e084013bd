namespace Ray.Actors;

/// <summary>
/// Brings await continuations of an actor's async methods back to the actor's own thread, so
/// an async actor behaves like Ray's: calls interleave only at awaits, never run in parallel.
/// </summary>
internal sealed class ActorSynchronizationContext(ActorInstance actor) : SynchronizationContext
{
    public override void Post(SendOrPostCallback d, object? state) => actor.Post(d, state);

    public override void Send(SendOrPostCallback d, object? state)
    {
        if (actor.IsOnActorThread) d(state);
        else throw new NotSupportedException("Synchronous Send into an actor is not supported; use Post.");
    }

    public override SynchronizationContext CreateCopy() => this;
}
