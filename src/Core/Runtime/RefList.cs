namespace Ray.Runtime;

/// <summary>
/// An immutable list of refs that <see cref="Waiter"/> hands out as <c>Ready</c> / <c>NotReady</c>.
/// It remembers that its refs were already checked to be unique, so passing a <c>NotReady</c>
/// list back into <c>Wait</c> (Ray's loop: <c>ready, rest = wait(rest)</c>) costs a copy of
/// the list, not a hash set per call.
/// </summary>
internal sealed class RefList<TRef> : IReadOnlyList<TRef> where TRef : ObjectRef
{
    internal static readonly RefList<TRef> Empty = new([]);

    private readonly TRef[] _items;

    internal RefList(TRef[] items) => _items = items;

    internal ReadOnlySpan<TRef> Span => _items;

    public TRef this[int index] => _items[index];

    public int Count => _items.Length;

    public IEnumerator<TRef> GetEnumerator() => ((IEnumerable<TRef>)_items).GetEnumerator();

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => _items.GetEnumerator();
}
