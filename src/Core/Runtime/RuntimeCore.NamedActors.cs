using Ray.Actors;

namespace Ray.Runtime;

/// <summary>
/// Named actors, per namespace: this runtime's own in <c>_named</c>; in a connected runtime the
/// raylet's name table makes names cluster-wide (claimed at creation, the address published when
/// the actor is alive, freed when it dies or its job ends), and lookups of other drivers' actors
/// attach a handle to them.
/// </summary>
internal sealed partial class RuntimeCore
{
    /// <summary>How long a lookup waits for a named actor that is claimed but not alive yet.</summary>
    internal static readonly TimeSpan NamedActorWait = TimeSpan.FromSeconds(60);

    private string? _namespace;

    /// <summary>
    /// This runtime's namespace (<see cref="RuntimeOptions.Namespace"/>); without one, an
    /// anonymous namespace of its own, as Ray gives each job: its named actors are then visible to it only.
    /// </summary>
    internal string Namespace => _namespace ??= Options.Namespace ?? $"anonymous-{OwnerId:x}";

    private static string NameKey(string ns, string name) => ns + "\0" + name;

    internal ActorHandle<TActor>? FindActor<TActor>(string name, string? ns, bool throwIfMissing, bool searchCluster = true) where TActor : class
    {
        ArgumentNullException.ThrowIfNull(name);
        ns ??= Namespace;
        if (_named.TryGetValue(NameKey(ns, name), out var instance) && !instance.IsDead)
        {
            if (instance.ActorType != typeof(TActor)) throw ExceptionFactory.ActorWrongType(name, instance.ActorType, typeof(TActor));
            return new ActorHandle<TActor>(instance);
        }
        if (searchCluster && Cluster is { } cluster)
        {
            if (Ray.Cluster.Driver.RemoteActorNames.Lookup(cluster, ns, name, NamedActorWait) is { } found)
            {
                if (found.TypeName != typeof(TActor).FullName)
                    throw new ActorNotFoundException($"The actor named '{name}' in namespace '{ns}' is a {found.TypeName}, not a {typeof(TActor).FullName}.");
                return AttachActor<TActor>(found.Address);
            }
        }
        return throwIfMissing ? throw ExceptionFactory.ActorNotFound(name, ns) : null;
    }

    // Claims the name cluster-wide before the actor is made (one actor per name however many
    // drivers race); when another claim holds it: its actor (GetIfExists), else an error.
    private ActorHandle<TActor>? ClaimName<TActor>(string ns, string name, bool getIfExists, bool detached) where TActor : class
    {
        if (Cluster is not { } cluster) return null; // embedded: _named.TryAdd decides
        if (Ray.Cluster.Driver.RemoteActorNames.Claim(cluster, ns, name, typeof(TActor).FullName ?? typeof(TActor).Name, detached)) return null;
        if (getIfExists && FindActor<TActor>(name, ns, throwIfMissing: false) is { } theirs) return theirs;
        throw new ArgumentException($"An actor named '{name}' already exists in namespace '{ns}'.", "options");
    }

    /// <summary>A named actor of this runtime is alive in its worker (first start or restart): lookups anywhere find it.</summary>
    internal void PublishActorAddress(ActorInstance actor)
    {
        if (Cluster is { } cluster && actor.Options.Name is { } name && actor.Namespace is { } ns && !actor.IsDead)
            Ray.Cluster.Driver.RemoteActorNames.Publish(cluster, ns, name, actor);
    }

    private void FreeClusterName(ActorInstance actor)
    {
        if (Cluster is { } cluster && actor.Options.Name is { } name && actor.Namespace is { } ns && !actor.Transport.IsAttached
            && !(_stopped && actor.Options.Lifetime == ActorLifetime.Detached)) // a detached actor keeps its name after its driver
            Ray.Cluster.Driver.RemoteActorNames.Free(cluster, ns, name);
    }
}
