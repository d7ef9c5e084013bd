using Apache.Arrow;

namespace Ray.Data;

/// <summary>
/// How <c>MapBatches&lt;TMapper&gt;</c> runs: an actor pool that starts <see cref="MinSize"/>
/// actors and adds one (up to <see cref="MaxSize"/>) whenever every actor is busy and blocks
/// are waiting. Each actor builds its mapper once (a model loads once per actor).
/// </summary>
/// <param name="MinSize">Actors started up front (at least 1).</param>
/// <param name="MaxSize">Most actors (at least <paramref name="MinSize"/>).</param>
public sealed record ActorPoolStrategy(int MinSize = 1, int MaxSize = 1)
{
    /// <summary>CPUs each actor holds. Default 1.</summary>
    public double NumCpus { get; init; } = 1;

    /// <summary>GPUs each actor holds. Default 0.</summary>
    public double NumGpus { get; init; }

    /// <summary>Blocks queued on one actor at a time (its next block arrives while it works). Default 2.</summary>
    public int MaxTasksInFlightPerActor { get; init; } = 2;
}

/// <summary>
/// A batch transform with state, for <c>MapBatches&lt;TMapper&gt;</c>: constructed once per
/// actor (public parameterless constructor), then called for every batch that actor gets.
/// </summary>
public interface IBatchMapper
{
    /// <summary>Transforms one batch.</summary>
    RecordBatch Map(RecordBatch batch);
}
