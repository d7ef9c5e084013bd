namespace Ray.Data.Execution;

/// <summary>One execution of a plan: the runtime, the limits, and per-operator statistics.</summary>
internal sealed class ExecContext(RayRuntime ray, DataOptions options)
{
    private long _buffered;

    public RayRuntime Ray { get; } = ray;
    public DataOptions Options { get; } = options;
    public List<OperatorStats> Stats { get; } = [];
    public DateTime Started { get; } = DateTime.UtcNow;

    /// <summary>Bytes of blocks produced and not yet consumed (the back-pressure budget's measure).</summary>
    public long BufferedBytes => Interlocked.Read(ref _buffered);

    public long PeakBufferedBytes;

    public void AddBuffered(long delta)
    {
        var now = Interlocked.Add(ref _buffered, delta);
        if (delta > 0)
        {
            long peak;
            while (now > (peak = Interlocked.Read(ref PeakBufferedBytes)) && Interlocked.CompareExchange(ref PeakBufferedBytes, now, peak) != peak) { }
        }
    }

    public OperatorStats NewStats(string name)
    {
        var s = new OperatorStats(name);
        lock (Stats) Stats.Add(s);
        return s;
    }

    /// <summary>
    /// Whether an operator holding <paramref name="pending"/> tasks may start one more whose
    /// output is about <paramref name="blockBytes"/>. An operator with nothing pending may
    /// always start one, so the pipeline never deadlocks on its own budget; one that has not
    /// seen an output yet (size unknown) keeps at most two in flight.
    /// </summary>
    public bool MaySubmit(int pending, long blockBytes, int window) =>
        pending == 0 || (pending < (blockBytes == 0 ? Math.Min(window, 2) : window) && BufferedBytes + (pending + 1) * blockBytes <= Options.MaxBufferedBytes);
}
