namespace Ray;

/// <summary>Options for creating an actor, as Ray's <c>Actor.options(...)</c>.</summary>
public sealed record ActorOptions
{
    /// <summary>The defaults: holds no CPU while alive (as in Ray), one call at a time.</summary>
    public static ActorOptions Default { get; } = new();

    /// <summary>CPUs the actor holds for its whole life. Default 0, as in Ray.</summary>
    public double NumCpus { get; init; }

    /// <summary>GPUs the actor holds for its whole life.</summary>
    public double NumGpus { get; init; }

    /// <summary>Memory in bytes the actor reserves for its whole life.</summary>
    public long MemoryBytes { get; init; }

    /// <summary>Custom resources the actor holds for its whole life.</summary>
    public IReadOnlyDictionary<string, double>? Resources { get; init; }

    /// <summary>
    /// Where the actor lives: null (default) anywhere with room, or a
    /// <see cref="PlacementGroupSchedulingStrategy"/> to hold its resources out of a placement
    /// group's bundle (it dies when the group is removed). Checked when it is created.
    /// </summary>
    public SchedulingStrategy? SchedulingStrategy { get; init; }

    /// <summary>Registers the actor under this name, so <c>GetActor</c> finds it (in a cluster, from any driver of its namespace).</summary>
    public string? Name { get; init; }

    /// <summary>
    /// Environment variables and a working directory this actor's code runs with in its worker
    /// process, merged over the job's (<see cref="RuntimeOptions.RuntimeEnv"/>); see
    /// <see cref="Ray.RuntimeEnv"/>. Refused by an embedded runtime.
    /// </summary>
    public RuntimeEnv? RuntimeEnv { get; init; }

    /// <summary>
    /// Who the actor's life depends on (Ray's <c>lifetime</c>): its owner (default: the driver,
    /// task or actor that made it dies, it dies), or <see cref="ActorLifetime.Detached"/>: it
    /// outlives its driver in a cluster and ends only when killed (from any driver, by a handle
    /// found with <c>GetActor</c>). A detached actor is not restarted after its driver is gone.
    /// </summary>
    public ActorLifetime Lifetime { get; init; }

    /// <summary>The namespace of its name; null (default): the runtime's (<see cref="RuntimeOptions.Namespace"/>).</summary>
    public string? Namespace { get; init; }

    /// <summary>
    /// With <see cref="Name"/>: when a live actor of that name exists in the namespace, return a
    /// handle to it instead of failing (Ray's <c>get_if_exists</c>): however many callers race,
    /// one actor is made. Its constructor arguments are then not used.
    /// </summary>
    public bool GetIfExists { get; init; }

    /// <summary>
    /// Calls that may run at once. 1 (default) runs calls one at a time in submission order.
    /// Above 1, synchronous methods run on up to this many threads and async methods interleave
    /// at their awaits (Ray's threaded and async actors); order is then not guaranteed.
    /// </summary>
    public int MaxConcurrency { get; init; } = 1;

    /// <summary>
    /// How often the actor is restarted (its constructor run again with the same arguments) when
    /// its worker process dies, in a connected runtime. 0 (default): it dies with its worker.
    /// -1: without limit. In-process actors have no process to lose. Below -1 is refused with
    /// <see cref="ArgumentOutOfRangeException"/> when the actor is created.
    /// </summary>
    public int MaxRestarts { get; init; }

    /// <summary>
    /// How often a call that was running when the actor's worker died is sent again to the
    /// restarted actor. 0 (default): such calls fail with <see cref="ActorDiedException"/>; -1:
    /// without limit. Below -1 is refused with <see cref="ArgumentOutOfRangeException"/> when the actor is created.
    /// </summary>
    public int MaxTaskRetries { get; init; }
}

/// <summary>Who an actor's life depends on.</summary>
public enum ActorLifetime
{
    /// <summary>Its owner's: it dies with the driver, task or actor that made it (the default).</summary>
    Owned,
    /// <summary>Its own: it outlives its driver and ends only when killed (Ray's <c>lifetime="detached"</c>).</summary>
    Detached,
}
