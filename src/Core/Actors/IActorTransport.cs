namespace Ray.Actors;

/// <summary>
/// Where an actor's calls run, behind its mailbox (<see cref="ActorInstance"/>): in this process
/// (<see cref="LocalActorHost"/>), or in a worker process the driver leased for it (process
/// mode's actor link). The mailbox keeps order, death and the handle; the transport makes the
/// actor and runs or sends each call.
/// </summary>
internal interface IActorTransport
{
    /// <summary>On the actor's thread, before any call: makes the actor; throws with why it could not (cancelled by a kill).</summary>
    void Start(CancellationToken killed);

    /// <summary>True when a queued call may be handed over now (an in-process actor: fewer than MaxConcurrency in flight).</summary>
    bool HasRoom { get; }

    /// <summary>
    /// True when a caller whose call can go at once (nothing queued before it, arguments ready)
    /// may hand it over on its own thread, saving the hand-off to the actor's thread.
    /// </summary>
    bool TakesCallsFromCallers { get; }

    /// <summary>True while calls cannot be handed over from callers (an actor being created again after its process died).</summary>
    bool IsRestarting { get; }

    /// <summary>True for a borrowed handle's transport: a failed start means the actor cannot be reached, not that its constructor failed.</summary>
    bool IsAttached { get; }

    /// <summary>Runs or sends a queued call, in mailbox order.</summary>
    void Dispatch(SubmittedActorCall call);

    /// <summary>True when no call handed over is still running (a graceful terminate waits for it).</summary>
    bool IsIdle { get; }

    /// <summary>Fails the calls that are running now with <paramref name="death"/> (a kill; their results are discarded).</summary>
    void FailRunning(Exception death);

    /// <summary>The actor was killed (any thread): what it lives in goes with its state.</summary>
    void Kill();

    /// <summary>On the actor's thread as it exits: disposes the actor and gives back what it held.</summary>
    void Stop();
}
