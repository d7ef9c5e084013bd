using Ray.Objects;

namespace Ray;

/// <summary>
/// A reference to an object in the runtime: a task's future result or a put value. Holding
/// a reference keeps the object alive; when no reference is left (handles collected, no
/// pending task takes it, no stored object contains it) the object is freed.
/// </summary>
public abstract class ObjectRef
{
    private protected ObjectRef(ObjectEntry entry) => Entry = entry;

    internal ObjectEntry Entry { get; }

    /// <summary>The object's id.</summary>
    public ObjectId Id => Entry.Id;

    /// <summary>True once the object has a value or an error (Ray's "ready" in <c>Wait</c>).</summary>
    public bool IsReady => Entry.IsCompleted;

    /// <summary>The handle is the last user of the object's reference it holds.</summary>
    ~ObjectRef() => Entry.Release();

    /// <summary>Waits until the object is ready or <paramref name="timeout"/> passes; returns which.</summary>
    public bool WaitReady(TimeSpan timeout)
    {
        var done = Entry.WaitCompleted(timeout);
        GC.KeepAlive(this);
        return done;
    }

    /// <inheritdoc />
    public override string ToString() => $"ObjectRef({Id})";
}
