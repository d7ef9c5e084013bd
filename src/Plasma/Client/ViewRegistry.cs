using System.Collections.Concurrent;

namespace Ray.Plasma.Client;

/// <summary>
/// The views a client handed out and has not had back. When the mapping goes away (client
/// or store disposed, connection lost) every live view is invalidated first, so touching one
/// afterwards throws ObjectDisposedException instead of faulting on unmapped memory.
/// </summary>
internal sealed class ViewRegistry
{
    private readonly ConcurrentDictionary<PlasmaBuffer, byte> _live = new(ReferenceEqualityComparer.Instance);
    private volatile bool _closed;

    internal PlasmaBuffer Add(PlasmaBuffer view)
    {
        _live[view] = 0;
        if (_closed) view.Invalidate(); // raced with close
        return view;
    }

    /// <summary>True when the view was live (so its reference must be given back).</summary>
    internal bool Remove(PlasmaBuffer view) => _live.TryRemove(view, out _);

    /// <summary>Views still held.</summary>
    internal int Count => _live.Count;

    internal void InvalidateAll()
    {
        _closed = true;
        foreach (var view in _live.Keys) view.Invalidate();
        _live.Clear();
    }
}
