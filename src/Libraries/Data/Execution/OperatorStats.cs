using System.Diagnostics;
using System.Globalization;

namespace Ray.Data.Execution;

/// <summary>What one physical operator did in an execution.</summary>
public sealed class OperatorStats
{
    private readonly Stopwatch _wall = new();
    private long _tasks, _blocks, _rows, _bytes, _taskMicros;

    internal OperatorStats(string name) => Name = name;

    /// <summary>The operator, with the steps fused into it (e.g. <c>ReadParquet->Map(F.lambda)</c>).</summary>
    public string Name { get; }
    /// <summary>Tasks (or actor calls) submitted.</summary>
    public long Tasks => Interlocked.Read(ref _tasks);
    /// <summary>Blocks produced.</summary>
    public long Blocks => Interlocked.Read(ref _blocks);
    /// <summary>Rows produced (counted where known: sinks and consumers read block headers).</summary>
    public long Rows => Interlocked.Read(ref _rows);
    /// <summary>Bytes of blocks produced (Arrow IPC).</summary>
    public long Bytes => Interlocked.Read(ref _bytes);
    /// <summary>Wall time from the operator's first task to its last output.</summary>
    public TimeSpan Wall => _wall.Elapsed;
    /// <summary>Sum of the time from each task's submission to its output being ready (includes queueing).</summary>
    public TimeSpan TaskTime => TimeSpan.FromTicks(Interlocked.Read(ref _taskMicros) * 10);

    internal void Start() { if (!_wall.IsRunning) _wall.Start(); }
    internal void Stop() => _wall.Stop();
    internal void Task() => Interlocked.Increment(ref _tasks);
    internal void Output(long bytes, long rows, TimeSpan taskTime)
    {
        Interlocked.Increment(ref _blocks);
        Interlocked.Add(ref _bytes, bytes);
        if (rows > 0) Interlocked.Add(ref _rows, rows);
        Interlocked.Add(ref _taskMicros, (long)taskTime.TotalMicroseconds);
    }

    /// <inheritdoc />
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Name}: {Tasks} tasks, {Blocks} blocks, {Rows} rows, {Bytes / 1024.0 / 1024.0:0.00} MiB, wall {Wall.TotalMilliseconds:0} ms, task time {TaskTime.TotalMilliseconds:0} ms");
}
