using Ray.Objects;

namespace Ray;

/// <summary>
/// A reference to an object in the runtime: a task's future result or a put value. Holding
/// a reference keeps the object alive; when no reference is left (handles collected, no
/// pending task takes it, no stored object contains it) the object is freed.
/// </summary>
public abstract class ObjectRef : IDisposable
{
    private int _released;

    private protected ObjectRef(ObjectEntry entry) => Entry = entry;

    internal ObjectEntry Entry { get; }

    /// <summary>The object's id.</summary>
    public ObjectId Id => Entry.Id;

    /// <summary>True once the object has a value or an error (Ray's "ready" in <c>Wait</c>).</summary>
    public bool IsReady => Entry.IsCompleted;

    /// <summary>A collected handle gives its reference back (the usual way objects are freed).</summary>
    ~ObjectRef()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0) Entry.Release();
    }

    /// <summary>
    /// Gives this handle's reference back now instead of when the handle is collected, as
    /// dropping the last reference does in Python; a large object is freed at once when no
    /// other reference is left. The handle cannot be used afterwards.
    /// </summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _released, 1) != 0) return;
        GC.SuppressFinalize(this);
        Entry.Release();
    }

    /// <summary>
    /// Hands this handle's reference to the caller, who must <see cref="ObjectEntry.Release"/> it
    /// (holders of entries without a handle object, such as the C ABI's object handles: no
    /// finalizer to register or run). The handle cannot be used afterwards.
    /// </summary>
    internal ObjectEntry Detach()
    {
        if (Interlocked.Exchange(ref _released, 1) != 0) ThrowDisposed();
        GC.SuppressFinalize(this);
        return Entry;
    }

    /// <summary>Throws when the handle was disposed.</summary>
    internal void ThrowIfDisposed()
    {
        if (Volatile.Read(ref _released) != 0) ThrowDisposed();
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private void ThrowDisposed() => throw new ObjectDisposedException(ToString(), "This object reference was disposed.");

    /// <summary>Waits until the object is ready or <paramref name="timeout"/> passes; returns which.</summary>
    public bool WaitReady(TimeSpan timeout)
    {
        ThrowIfDisposed();
        var done = Entry.WaitCompleted(timeout);
        GC.KeepAlive(this);
        return done;
    }

    /// <summary>Two handles are equal when they reference the same object (as Ray's ObjectRefs).</summary>
    public override bool Equals(object? obj) => obj is ObjectRef other && other.Id == Id;

    /// <inheritdoc />
    public override int GetHashCode() => Id.GetHashCode();

    /// <inheritdoc />
    public override string ToString() => $"ObjectRef({Id})";
}
