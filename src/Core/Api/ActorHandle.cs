using Ray.Actors;

namespace Ray;

/// <summary>What every actor handle offers, whatever the actor's type.</summary>
public interface IActorHandle
{
    /// <summary>The actor's id.</summary>
    ActorId Id { get; }

    /// <summary>The actor's class.</summary>
    Type ActorType { get; }

    /// <summary>The actor's name, if it was created with one.</summary>
    string? Name { get; }

    /// <summary>False once the actor is dead (killed or its constructor failed).</summary>
    bool IsAlive { get; }
}

/// <summary>
/// A handle to an actor. Send calls with <c>handle.Task((a, x) => a.Method(x)).Remote(x)</c>;
/// they run one at a time on the actor in the order this handle sent them. Handles can be
/// passed to tasks and other actors; they all reach the same actor.
/// </summary>
public sealed partial class ActorHandle<TActor> : IActorHandle, IActorInstanceHolder where TActor : class
{
    internal ActorHandle(ActorInstance instance) => Instance = instance;

    internal ActorInstance Instance { get; }

    ActorInstance IActorInstanceHolder.Instance => Instance;

    /// <inheritdoc />
    public ActorId Id => Instance.Id;

    /// <inheritdoc />
    public Type ActorType => typeof(TActor);

    /// <inheritdoc />
    public string? Name => Instance.Options.Name;

    /// <inheritdoc />
    public bool IsAlive => !Instance.IsDead;

    /// <inheritdoc />
    public override string ToString() => $"ActorHandle<{typeof(TActor).Name}>({Id})";
}

/// <summary>What every actor handle has inside, without its type argument (to pass handles between processes).</summary>
internal interface IActorInstanceHolder
{
    /// <summary>The actor behind the handle.</summary>
    ActorInstance Instance { get; }
}
