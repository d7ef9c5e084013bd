namespace Ray;

public sealed partial class RayRuntime
{
    /// <summary>
    /// Frees objects now, while references to them may remain (Ray's <c>free</c>): later gets,
    /// waits and tasks that take them fail with <see cref="ObjectFreedException"/>, and their
    /// memory goes back at once (a view still open keeps what it reads until it is disposed). A
    /// pending object is failed the same way and its value dropped when its task finishes (the
    /// task is not cancelled: use <see cref="Cancel"/> for that). Objects already failed or freed,
    /// and nulls, are skipped. Copies another process took of an object (a task's argument) are
    /// that process's own and are not reached.
    /// </summary>
    /// <param name="refs">The objects to free.</param>
    /// <returns>How many objects this call freed.</returns>
    public int Free(params ObjectRef[] refs) => Free((IEnumerable<ObjectRef>)refs);

    /// <inheritdoc cref="Free(ObjectRef[])"/>
    public int Free(IEnumerable<ObjectRef> refs)
    {
        ArgumentNullException.ThrowIfNull(refs);
        var freed = 0;
        foreach (var r in refs)
        {
            if (r is null) continue;
            r.ThrowIfDisposed();
            if (r.Entry.FreeByUser()) freed++;
        }
        return freed;
    }
}
