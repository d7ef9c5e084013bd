namespace Ray.Runtime;

/// <summary>The runtime's event counters (interlocked; read into <see cref="RuntimeStats"/>).</summary>
internal sealed class StatsCounters
{
    private long _submitted, _finished, _failed, _retried, _cancelled;

    internal void OnSubmitted() => Interlocked.Increment(ref _submitted);
    internal void OnFinished() => Interlocked.Increment(ref _finished);
    internal void OnFailed() => Interlocked.Increment(ref _failed);
    internal void OnRetried() => Interlocked.Increment(ref _retried);
    internal void OnCancelled() => Interlocked.Increment(ref _cancelled);

    internal long Submitted => Interlocked.Read(ref _submitted);
    internal long Finished => Interlocked.Read(ref _finished);
    internal long Failed => Interlocked.Read(ref _failed);
    internal long Retried => Interlocked.Read(ref _retried);
    internal long Cancelled => Interlocked.Read(ref _cancelled);
}
