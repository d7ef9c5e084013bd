using System.Collections.Concurrent;
using Ray.Actors;
using Ray.Protocol;

namespace Ray.Cluster.Wire;

/// <summary>Where an actor of a connected driver lives: enough for another process of the job to call it directly.</summary>
internal sealed record ActorAddress(ActorId Id, string WorkerSocket, uint WorkerId, int Pid, uint JobId, int MaxConcurrency)
{
    /// <summary>A detached actor: any handle may kill it (through the raylet).</summary>
    internal bool Detached { get; init; }
}

/// <summary>
/// An actor handle crossing into a worker process (value tag 5): <c>u64 actor owner | u64 actor
/// sequence | string worker socket | u32 worker id | i32 pid | u32 job id | i32 max concurrency | u8 flags (1 detached)</c>.
/// The receiver attaches a handle of its own (<see cref="Runtime.RuntimeCore.AttachActor{TActor}"/>)
/// that connects to the actor's worker, as the owner's job, and sends its calls there.
/// </summary>
internal static class ActorWire
{
    internal static void Write(PayloadWriter w, ActorInstance actor)
    {
        var address = (actor.Transport as Driver.RemoteActorLink)?.Address
            ?? throw new NotSupportedException($"actor {actor.ActorType.Name} ({actor.Id}) is not in a worker process right now (not created yet, restarting, or dead); its handle cannot go to another process");
        actor.MarkEscaped(); // handles in other processes are not counted: it no longer ends with this process's handles
        w.U8(ValueWire.Actor);
        w.U64(address.Id.Owner);
        w.U64(address.Id.Sequence);
        w.Utf8(address.WorkerSocket);
        w.U32(address.WorkerId);
        w.I32(address.Pid);
        w.U32(address.JobId);
        w.I32(address.MaxConcurrency);
        w.U8(address.Detached ? (byte)1 : (byte)0);
    }

    /// <summary>The actor's handle as it crosses processes (tag included), for the raylet's name table.</summary>
    /// <exception cref="NotSupportedException">The actor is not in a worker process right now.</exception>
    internal static byte[] EncodeAddress(ActorInstance actor) => PayloadWriter.Build(actor, static (w, a) => Write(w, a));

    /// <summary>Reads what <see cref="EncodeAddress"/> wrote.</summary>
    /// <exception cref="ProtocolException">Not an actor address.</exception>
    internal static ActorAddress DecodeAddress(ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty || bytes[0] != ValueWire.Actor) throw new ProtocolException("a named actor's address is not an actor handle");
        var off = 1;
        var address = Read(bytes, ref off);
        if (off != bytes.Length) throw new ProtocolException("a named actor's address has trailing bytes");
        return address;
    }

    /// <summary>Steps over an actor's body (after its tag) while reading a payload.</summary>
    internal static void Skip(ReadOnlySpan<byte> p, ref int offset) => Read(p, ref offset);

    private static ActorAddress Read(ReadOnlySpan<byte> p, ref int offset)
    {
        var id = new ActorId(ValueWire.ReadU64(p, ref offset), ValueWire.ReadU64(p, ref offset));
        var socket = ValueWire.ReadUtf8(p, ref offset);
        var worker = (uint)ValueWire.ReadI32(p, ref offset);
        var pid = ValueWire.ReadI32(p, ref offset);
        var job = (uint)ValueWire.ReadI32(p, ref offset);
        var concurrency = ValueWire.ReadI32(p, ref offset);
        var flags = ValueWire.ReadU8(p, ref offset);
        if (socket.Length == 0 || concurrency < 1 || flags > 1) throw new ProtocolException($"an actor address with socket '{socket}', max concurrency {concurrency} and flags {flags}");
        return new ActorAddress(id, socket, worker, pid, job, concurrency) { Detached = flags == 1 };
    }

    private delegate object Attacher(ActorAddress address);

    private static readonly ConcurrentDictionary<Type, Attacher> s_attachers = new();

    /// <summary>A handle (a <typeparamref name="T"/>, an ActorHandle type) attached to the actor in this process's runtime.</summary>
    internal static T Decode<T>(ReadOnlySpan<byte> body)
    {
        var t = typeof(T);
        if (!t.IsGenericType || t.GetGenericTypeDefinition() != typeof(ActorHandle<>))
            throw new NotSupportedException($"an actor handle arrived where a {t.Name} is expected: declare the parameter as ActorHandle<TActor>");
        var off = 0;
        var address = Read(body, ref off);
        if (!System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeSupported)
            throw new NotSupportedException($"an {t.Name} from another process needs a runtime that can compile code (not NativeAOT)");
        if (!s_attachers.TryGetValue(t, out var attach))
        {
            attach = CreateAttacher(t);
            s_attachers[t] = attach;
        }
        return (T)attach(address);
    }

    [System.Diagnostics.CodeAnalysis.RequiresDynamicCode("Instantiates Attach over the actor's type at run time.")]
    private static Attacher CreateAttacher(Type handleType) =>
        typeof(ActorWire).GetMethod(nameof(Attach), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!
            .MakeGenericMethod(handleType.GetGenericArguments()[0]).CreateDelegate<Attacher>();

    // The worker's own runtime (a nested driver of the job) holds the attached handle.
    private static object Attach<TActor>(ActorAddress address) where TActor : class =>
        RayRuntime.Current.Core.AttachActor<TActor>(address);
}
