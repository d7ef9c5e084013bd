namespace Ray.Raylet.Workers;

/// <summary>Where a worker is in its life: Starting -> Idle &lt;-> Leased -> Dead.</summary>
internal enum WorkerState
{
    /// <summary>Launched (or being launched); not registered yet.</summary>
    Starting,
    /// <summary>Registered and free for a lease of its job.</summary>
    Idle,
    /// <summary>Held by a lease.</summary>
    Leased,
    /// <summary>Gone, killed or being killed; removed from every table.</summary>
    Dead,
}
