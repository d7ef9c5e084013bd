using Ray.Objects;
using Ray.Tasks;

namespace Ray.Actors;

/// <summary>
/// Ray's <c>__ray_terminate__</c>: a mailbox entry that ends the actor once every call queued
/// before it has finished. It never reaches the transport: the actor's thread waits for the
/// calls in flight, then kills the actor for good (no restart); calls made after it fail with
/// <see cref="ActorDiedException"/>. Its result is ready when the actor has ended.
/// </summary>
internal sealed class TerminateCall : SubmittedActorCall
{
    internal override void RegisterDependencies() { }
    internal override int ArgumentIndexOf(ObjectEntry dependency) => 0;
    internal override int WaitDependencies(out ObjectEntry? failed)
    {
        failed = null;
        return 0;
    }
    internal override bool ArgumentsReady => true;
    internal override bool IsAsync => false;
    protected override void Invoke() => throw new InvalidOperationException("a terminate call is handled by the actor's mailbox");
    internal override Task? Start(object instance) => throw new InvalidOperationException("a terminate call is handled by the actor's mailbox");
    protected override void ReleaseArguments() { }
    internal override void AbandonArguments() { }
    internal override int ArgumentCount => 0;
    internal override void VisitArguments(IArgumentVisitor visitor) { }

    /// <summary>Marks the actor ended: the result is ready (its value is <see cref="Unit.Value"/>).</summary>
    internal void Complete()
    {
        if (!TryMarkRunning()) return;
        StoreResult(Unit.Value);
        CompleteSuccess();
    }
}
