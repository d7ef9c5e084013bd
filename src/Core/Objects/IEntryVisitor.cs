namespace Ray.Objects;

/// <summary>
/// Code that needs an entry's value type without the entry knowing that code: the object
/// provider writing a value for another process or completing one that arrived from there.
/// <see cref="ObjectEntry.Accept"/> calls back with the entry, typed, so entries keep state
/// and reference counts only and no wire format lives under Objects.
/// </summary>
internal interface IEntryVisitor
{
    /// <summary>Called with the entry as what it is.</summary>
    void Visit<T>(ObjectEntry<T> entry);
}

/// <summary>
/// A value that arrived from another process for one entry: visiting the entry completes it
/// with the value; <see cref="Discard"/> drops what the value holds when nobody wants it any
/// more (the task was cancelled meanwhile).
/// </summary>
internal interface IIncomingValue : IEntryVisitor
{
    /// <summary>Releases what the value holds outside this process (its copy in the node's store).</summary>
    void Discard();
}
