using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace Ray;

/// <summary>
/// Every runtime error is made here, so messages are consistent and full of detail.
/// Throw helpers are not inlined to keep hot paths small.
/// </summary>
internal static class ExceptionFactory
{
    internal static RayTaskException TaskFailed(string taskName, TaskId id, Exception error)
    {
        var type = error.GetType().FullName ?? error.GetType().Name;
        var message = Safe(() => error.Message, "(its Message threw)") ?? "";
        var stack = StackFrames.UserStack(error); // without the dispatch frames; a throwing getter gives null
        return new RayTaskException(taskName, id, type, message, stack, error,
            $"Task {taskName} ({id}) failed: {type}: {message}");
    }

    /// <summary>User code threw in a worker process: its type name, message and stack crossed over; the inner exception is rebuilt from them.</summary>
    internal static RayTaskException RemoteTaskFailed(string taskName, TaskId id, string type, string message, string? stack) =>
        new(taskName, id, type, message, stack, RemoteExceptions.Rebuild(type, message, stack), $"Task {taskName} ({id}) failed: {type}: {message}");

    internal static RayTaskException RemoteObjectFailed(string type, string message, string? stack) =>
        new("(an object passed between processes)", default, type, message, stack, RemoteExceptions.Rebuild(type, message, stack), message);

    internal static WorkerDiedException WorkerDied(string taskName, TaskId id, int attempts, string why) =>
        new($"Task {taskName} ({id}) failed: the worker process running it died ({why}); attempts: {attempts} (raise MaxRetries to retry more).");

    internal static WorkerDiedException WorkerFailed(string taskName, TaskId id, string why) =>
        new($"Task {taskName} ({id}) could not run in its worker process: {why}");

    /// <summary>
    /// A worker process could not store a task's result (or read an argument): its store-full,
    /// lost-object or serialization error, raised again on the driver as what it was; another type
    /// says the worker could not run the task. <paramref name="about"/> is the object it named (an
    /// argument it could not read, or its result), nil when it named none.
    /// </summary>
    internal static RayException RemoteStoreError(string taskName, TaskId id, ObjectId result, ObjectId about, Type resultType, string type, string message, string? stack) => type switch
    {
        "Ray.ObjectStoreFullException" => new ObjectStoreFullException(about.IsNil ? result : about, message, null),
        "Ray.ObjectLostException" => new ObjectLostException(about.IsNil ? result : about, message),
        "Ray.ObjectFreedException" => new ObjectFreedException(about.IsNil ? result : about, message),
        "Ray.RaySerializationException" => new RaySerializationException(resultType, message, null),
        _ => WorkerFailed(taskName, id, type + ": " + message + (string.IsNullOrEmpty(stack) ? "" : "\n" + stack)),
    };

    internal static RayTaskException DependencyFailed(string taskName, TaskId id, int argIndex, ObjectId arg, Exception cause)
    {
        var root = cause is RayTaskException rt ? rt.RootCause : null;
        var msg = root is null
            ? $"Task {taskName} ({id}) did not run: its argument {argIndex} (object {arg}) failed: {cause.Message}"
            : $"Task {taskName} ({id}) did not run: its argument {argIndex} (object {arg}) failed; root cause in {root.TaskName}: {root.RemoteExceptionType}: {root.RemoteMessage}";
        return new RayTaskException(taskName, id, typeof(RayTaskException).FullName!, msg, null, cause, msg);
    }

    internal static ObjectStoreFullException StoreFull(ObjectId id, long size, Exception inner) =>
        new(id, $"Object {id} ({size} bytes) does not fit in the object store: {inner.Message}", inner);

    // User exceptions run user code in their getters; a throwing getter must not kill a worker.
    private static string? Safe(Func<string?> read, string? fallback)
    {
        try { return read(); }
        catch { return fallback; }
    }

    internal static GetTimeoutException GetTimeout(ObjectId id, TimeSpan timeout) =>
        new($"Get timed out after {timeout.TotalMilliseconds:0.###} ms waiting for object {id}; the object is intact and can be fetched later.");

    internal static GetTimeoutException GetManyTimeout(int ready, int total, TimeSpan timeout) =>
        new($"Get timed out after {timeout.TotalMilliseconds:0.###} ms: {ready} of {total} objects were ready; the objects are intact.");

    internal static TaskCancelledException Cancelled(string taskName, TaskId id) =>
        new(id, $"Task {taskName} ({id}) was cancelled.");

    internal static ObjectFreedException FreedByUser(ObjectId id) =>
        new(id, $"Object {id} was freed explicitly (Free); it can no longer be read.");

    internal static ObjectLostException ObjectFreed(ObjectId id) =>
        new(id, $"Object {id} was freed because no reference to it was left; it can no longer be read.");

    /// <summary>
    /// The runtime's error for a failed node-store request about object <paramref name="id"/>:
    /// the one place a Plasma error becomes a Ray one. A write of <paramref name="writeSize"/>
    /// bytes that does not fit is <see cref="ObjectStoreFullException"/>; another write failure
    /// is <see cref="ObjectLostException"/> (it was not stored); a read (writeSize &lt; 0) maps
    /// as <see cref="NodeStoreReadFailed"/>.
    /// </summary>
    internal static RayException NodeStoreFailed(ObjectId id, Ray.Plasma.PlasmaException e, long writeSize = -1) =>
        writeSize < 0 ? NodeStoreReadFailed(id, e)
        : e.Status is Ray.Plasma.PlasmaStatus.StoreFull or Ray.Plasma.PlasmaStatus.TooLarge ? StoreFull(id, writeSize, e)
        : new ObjectLostException(id, $"Object {id} ({writeSize} bytes) could not be written to the node's object store: {e.Message}");

    // Reading failed: a spilled object whose restore found no room is a full store (with the
    // sizes), one that is gone is freed, anything else says why.
    private static RayException NodeStoreReadFailed(ObjectId id, Ray.Plasma.PlasmaException e) => e.Status switch
    {
        Ray.Plasma.PlasmaStatus.StoreFull => new ObjectStoreFullException(id, $"Object {id} was spilled to disk and cannot be restored into the object store: {e.Message}", e),
        Ray.Plasma.PlasmaStatus.ObjectNotFound or Ray.Plasma.PlasmaStatus.Timeout => ObjectFreed(id),
        _ => new ObjectLostException(id, $"Object {id} could not be read from the node's object store: {e.Message}"),
    };

    internal static ObjectLostException UnknownObject(ObjectId id) =>
        new(id, $"Object {id} is unknown to this runtime (freed, or owned by another runtime).");

    internal static RaySerializationException CannotSerialize(Type type, string where, Exception inner) =>
        new(type, $"Cannot serialize {where} of type '{type.FullName}': {inner.Message} " +
                  "Mark the type [MemoryPackable] (and partial), or use a primitive, string, array or unmanaged struct.", inner);

    internal static RaySerializationException CannotDeserialize(Type type, Exception inner) =>
        new(type, $"Cannot deserialize a value of type '{type.FullName}': {inner.Message}", inner);

    internal static ResourcesUnsatisfiableException Unsatisfiable(string what, string request, string total) =>
        new($"{what} requests {request}, but the whole runtime has only {total}; it could never be scheduled.");

    internal static ActorDiedException ActorKilled(ActorId id, string typeName) =>
        new(id, $"Actor {typeName} ({id}) was killed; calls to it fail.");

    internal static ActorDiedException ActorCreationFailed(ActorId id, string typeName, Exception cause) =>
        new(id, $"Actor {typeName} ({id}) died: its constructor threw {cause.GetType().FullName}: {cause.Message}", cause);

    internal static ActorDiedException ActorWorkerDied(ActorId id, string typeName, string why, int restarts) =>
        new(id, $"Actor {typeName} ({id}) died: its worker process died ({why}) after {restarts} restart(s); raise ActorOptions.MaxRestarts to restart it.");

    internal static ActorDiedException ActorCallLost(ActorId id, string typeName, string why) =>
        new(id, $"A call to actor {typeName} ({id}) was running when its worker process died ({why}); the actor restarts, the call is not retried (ActorOptions.MaxTaskRetries).");

    internal static ActorDiedException ActorTerminated(ActorId id, string typeName) =>
        new(id, $"Actor {typeName} ({id}) was terminated: it finished the calls made before Terminate, then ended (it does not restart).");

    internal static ActorDiedException ActorOwnerDied(ActorId id, string typeName, ActorId owner, string ownerType) =>
        new(id, $"Actor {typeName} ({id}) died: the actor that made it, {ownerType} ({owner}), died (an actor lives as long as its owner).");

    internal static ActorDiedException ActorRestarting(ActorId id, string typeName) =>
        new(id, $"Actor {typeName} ({id}) is restarting after its worker process died; with MaxTaskRetries = 0 a call made meanwhile fails instead of waiting (raise ActorOptions.MaxTaskRetries to wait for the restart).");

    internal static ActorDiedException ActorShutdown(ActorId id, string typeName) =>
        new(id, $"Actor {typeName} ({id}) died: the runtime shut down.");

    internal static ActorDiedException ActorPlacementGroupRemoved(ActorId id, string typeName, PlacementGroupRemovedException cause) =>
        new(id, $"Actor {typeName} ({id}) died: {cause.Message}", cause);

    internal static ActorNotFoundException ActorNotFound(string name, string ns) =>
        new($"No live actor is named '{name}' in namespace '{ns}'.");

    internal static ActorNotFoundException ActorWrongType(string name, Type actual, Type requested) =>
        new($"The actor named '{name}' is a {actual.FullName}, not a {requested.FullName}.");

    internal static RuntimeShutdownException Shutdown() =>
        new("The Ray runtime has been shut down.");

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    internal static void ThrowArgument(string message, string paramName) =>
        throw new ArgumentException(message, paramName);

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    internal static void ThrowShutdown() => throw Shutdown();
}
