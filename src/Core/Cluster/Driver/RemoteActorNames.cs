using System.Buffers;
using Ray.Actors;
using Ray.Cluster.Wire;

namespace Ray.Cluster.Driver;

/// <summary>The raylet's cluster-wide actor name table, from a driver (see ClusterMessageKind.RegisterActorName).</summary>
internal static class RemoteActorNames
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    /// <summary>Claims the name for this job; false when a live claim (any driver's) holds it.</summary>
    internal static bool Claim(ClusterSession session, string ns, string name, string typeName, bool detached)
    {
        // A blocking public call (creating a named actor): answered by the control link's receive thread.
        var reply = session.Link.Request((ushort)ClusterMessageKind.RegisterActorName, ClusterCodec.EncodeActorName(ns, name, typeName, detached), Timeout);
        return reply is [0];
    }

    /// <summary>The named actor's type and address, once it is alive (waits up to <paramref name="wait"/>); null when no live actor holds the name.</summary>
    internal static (string TypeName, ActorAddress Address)? Lookup(ClusterSession session, string ns, string name, TimeSpan wait)
    {
        try
        {
            // A blocking public call (GetActor): answered by the control link's receive thread.
            var reply = session.Link.Request((ushort)ClusterMessageKind.LookupActorName, ClusterCodec.EncodeActorName(ns, name), wait);
            var (type, address) = ClusterCodec.DecodeActorFound(new ReadOnlySequence<byte>(reply));
            return (type, ActorWire.DecodeAddress(address));
        }
        catch (RayClusterException e) when (e.WireCode == ClusterErrorCode.ActorNotFound) { return null; }
    }

    /// <summary>One-way: the actor is alive at its worker now.</summary>
    internal static void Publish(ClusterSession session, string ns, string name, ActorInstance actor)
    {
        if (session.Link.IsClosed) return;
        byte[] address;
        uint workerId;
        try
        {
            address = ActorWire.EncodeAddress(actor);
            workerId = ((RemoteActorLink)actor.Transport).Address?.WorkerId ?? 0;
        }
        catch (NotSupportedException) { return; } // died meanwhile: its Free follows
        session.Link.Send((ushort)ClusterMessageKind.SetActorAddress, ClusterCodec.EncodeSetActorAddress(ns, name, address, workerId));
    }

    /// <summary>One-way: the actor died; its name is free.</summary>
    internal static void Free(ClusterSession session, string ns, string name)
    {
        if (session.Link.IsClosed) return;
        session.Link.Send((ushort)ClusterMessageKind.SetActorAddress, ClusterCodec.EncodeSetActorAddress(ns, name, []));
    }
}
