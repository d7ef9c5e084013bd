namespace Ray.Cluster.WorkerSide;

/// <summary>One decoded call of a remote function, ready to run.</summary>
internal abstract class WorkerCall
{
    /// <summary>Runs the function: its value (Unit for void), or for an async one its task. Exceptions propagate unwrapped.</summary>
    internal abstract object? Invoke();
}
