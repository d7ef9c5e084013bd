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
/// passed to tasks and other actors; they all reach the same actor. When every handle is gone
/// the actor ends (see the finalizer); keep a handle for as long as the actor should live, or make
/// it <see cref="ActorLifetime.Detached"/>.
/// </summary>
public sealed partial class ActorHandle<TActor> : IActorHandle, IActorInstanceHolder where TActor : class
{
    internal ActorHandle(ActorInstance instance)
    {
        Instance = instance;
        instance.AddHandle();
    }

    /// <summary>
    /// A collected handle lets go of its actor: when no handle to it is left in the process that
    /// made it (and none ever left that process), the actor ends after the calls already sent,
    /// as in Ray. Detached actors are kept until killed.
    /// </summary>
    ~ActorHandle() => Instance.ReleaseHandle();

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
