namespace Ray;

// The typed errors a user catches. All are created through ExceptionFactory so that
// messages stay consistent and name the ids, sizes and types involved.

/// <summary>
/// User code in a task or actor method threw. Carries the remote exception's type name,
/// message and stack trace as text (they cross process boundaries). The
/// <see cref="Exception.InnerException"/> is what user code threw: the original exception
/// embedded; from a worker process, one of the same type rebuilt from its message when this
/// process has the type, else a <see cref="RemoteException"/> naming it. When a task fails
/// because one of its arguments failed, the inner exception is the upstream failure.
/// </summary>
public sealed class RayTaskException : RayException
{
    internal RayTaskException(string taskName, TaskId taskId, string remoteType, string remoteMessage,
        string? remoteStackTrace, Exception? inner, string message)
        : base(RayErrorCode.TaskFailed, message, inner)
    {
        TaskName = taskName;
        TaskId = taskId;
        RemoteExceptionType = remoteType;
        RemoteMessage = remoteMessage;
        RemoteStackTrace = remoteStackTrace;
    }

    /// <summary>The function or method that failed, e.g. <c>Fns.Divide</c>.</summary>
    public string TaskName { get; }
    /// <summary>The id of the failed task.</summary>
    public TaskId TaskId { get; }
    /// <summary>Full name of the exception type thrown by user code.</summary>
    public string RemoteExceptionType { get; }
    /// <summary>The message of the exception thrown by user code.</summary>
    public string RemoteMessage { get; }
    /// <summary>The stack trace where user code threw.</summary>
    public string? RemoteStackTrace { get; }

    /// <summary>
    /// The task error at the bottom of a chain of dependency failures (this one if it is not a
    /// dependency failure): where user code actually threw.
    /// </summary>
    public RayTaskException RootCause
    {
        get
        {
            var e = this;
            while (e.IsDependencyFailure && e.InnerException is RayTaskException inner) e = inner;
            return e;
        }
    }

    /// <summary>True when this task never ran because an argument it depended on failed.</summary>
    public bool IsDependencyFailure => InnerException is RayTaskException && RemoteExceptionType == typeof(RayTaskException).FullName;

    /// <summary>
    /// Ray's traceback order: this error's message, the remote exception with the frames where
    /// user code threw (in the worker, or the task's thread), then the driver's frames; the
    /// runtime's own invocation frames are left out.
    /// </summary>
    public override string ToString() => RemoteTraceback.Format(this);
}

/// <summary>The actor is dead: killed, its constructor threw, or its worker died.</summary>
public sealed class ActorDiedException : RayException
{
    internal ActorDiedException(ActorId actorId, string message, Exception? inner = null)
        : base(RayErrorCode.ActorDied, message, inner) => ActorId = actorId;

    /// <summary>The dead actor.</summary>
    public ActorId ActorId { get; }
}

/// <summary>The object is gone (freed because nothing referenced it, or lost).</summary>
public class ObjectLostException : RayException
{
    internal ObjectLostException(ObjectId objectId, string message)
        : this(RayErrorCode.ObjectLost, objectId, message) { }

    private protected ObjectLostException(RayErrorCode code, ObjectId objectId, string message)
        : base(code, message) => ObjectId = objectId;

    /// <summary>The missing object.</summary>
    public ObjectId ObjectId { get; }
}

/// <summary>
/// The object was freed explicitly (<see cref="RayRuntime.Free(ObjectRef[])"/>) while references
/// to it remained; reads through them fail with this error (Ray's <c>ObjectFreedError</c>).
/// </summary>
public sealed class ObjectFreedException : ObjectLostException
{
    internal ObjectFreedException(ObjectId objectId, string message)
        : base(RayErrorCode.ObjectFreed, objectId, message) { }
}

/// <summary>A get or wait ran out of time. The object is untouched and can be fetched later.</summary>
public sealed class GetTimeoutException : RayException
{
    internal GetTimeoutException(string message) : base(RayErrorCode.GetTimeout, message) { }
}

/// <summary>The task was cancelled before it produced a value.</summary>
public sealed class TaskCancelledException : RayException
{
    internal TaskCancelledException(TaskId taskId, string message)
        : base(RayErrorCode.TaskCancelled, message) => TaskId = taskId;

    /// <summary>The cancelled task.</summary>
    public TaskId TaskId { get; }
}

/// <summary>A value could not be serialized (at submission or put) or deserialized.</summary>
public sealed class RaySerializationException : RayException
{
    internal RaySerializationException(Type type, string message, Exception? inner)
        : base(RayErrorCode.Serialization, message, inner) => ValueType = type;

    /// <summary>The type that could not be (de)serialized.</summary>
    public Type ValueType { get; }
}

/// <summary>
/// The request needs more of a resource than the whole runtime has, so it could never run.
/// Raised at submission (Ray only warns; waiting forever helps nobody).
/// </summary>
public sealed class ResourcesUnsatisfiableException : RayException
{
    internal ResourcesUnsatisfiableException(string message) : base(RayErrorCode.ResourcesUnsatisfiable, message) { }
}

/// <summary>No live actor has the requested name (or it has another type).</summary>
public sealed class ActorNotFoundException : RayException
{
    internal ActorNotFoundException(string message) : base(RayErrorCode.ActorNotFound, message) { }
}

/// <summary>The runtime was shut down while the operation was pending or before it began.</summary>
public sealed class RuntimeShutdownException : RayException
{
    internal RuntimeShutdownException(string message) : base(RayErrorCode.RuntimeShutdown, message) { }
}

/// <summary>The worker running a task died; raised once the task's retries are used up.</summary>
public sealed class WorkerDiedException : RayException
{
    internal WorkerDiedException(string message, Exception? inner = null) : base(RayErrorCode.WorkerDied, message, inner) { }
}

/// <summary>
/// The object store has no room for an object even after eviction and spilling. The inner
/// exception (Ray.Plasma.ObjectStoreFullException) names the sizes involved.
/// </summary>
public sealed class ObjectStoreFullException : RayException
{
    internal ObjectStoreFullException(ObjectId objectId, string message, Exception? inner)
        : base(RayErrorCode.ObjectStoreFull, message, inner) => ObjectId = objectId;

    /// <summary>The object that did not fit.</summary>
    public ObjectId ObjectId { get; }
}

/// <summary>
/// The placement group a task or actor was placed into was removed (Ray's
/// <c>TaskPlacementGroupRemoved</c>): its queued and running tasks fail with this, submissions
/// into it are refused with it, and its actors die with an <see cref="ActorDiedException"/> whose
/// inner exception is this. Also what <see cref="PlacementGroup.Ready"/> throws when the group
/// was removed before it was created.
/// </summary>
public sealed class PlacementGroupRemovedException : RayException
{
    internal PlacementGroupRemovedException(PlacementGroupId id, string message) : base(RayErrorCode.PlacementGroupRemoved, message) => PlacementGroupId = id;

    /// <summary>The removed group.</summary>
    public PlacementGroupId PlacementGroupId { get; }
}
