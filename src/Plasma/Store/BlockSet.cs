namespace Ray.Plasma.Store;

/// <summary>
/// Disjoint free parts of the arena held for one client (a region's space not carved into
/// objects yet, or blocks recycled to it): offset -> length, ordered. Parts are never merged,
/// so a carve that spans two of them is refused, exactly as the client, which takes sub-ranges
/// of the parts it was given, expects. Guarded by the store's lock.
/// </summary>
internal sealed class BlockSet
{
    private readonly SortedList<long, long> _parts = new();

    /// <summary>Free parts now.</summary>
    internal int Count => _parts.Count;

    /// <summary>The parts, offset and length, in offset order.</summary>
    internal IEnumerable<(long Offset, long Length)> Parts
    {
        get
        {
            for (var i = 0; i < _parts.Count; i++) yield return (_parts.Keys[i], _parts.Values[i]);
        }
    }

    /// <summary>Adds a free part; it must not overlap one already held (the caller's invariant).</summary>
    internal void Add(long offset, long length) => _parts.Add(offset, length);

    internal void Clear() => _parts.Clear();

    /// <summary>Removes [start, start + length) from the free parts; false unless it lies inside one.</summary>
    internal bool TryCarve(long start, long length)
    {
        var found = PartAtOrBefore(start);
        if (found < 0) return false;
        var partStart = _parts.Keys[found];
        var partEnd = partStart + _parts.Values[found];
        if (start + length > partEnd) return false;
        _parts.RemoveAt(found);
        if (start > partStart) _parts.Add(partStart, start - partStart);
        if (start + length < partEnd) _parts.Add(start + length, partEnd - start - length);
        return true;
    }

    // The index of the last part that begins at or before start; -1 when none does.
    private int PartAtOrBefore(long start)
    {
        var keys = _parts.Keys;
        int lo = 0, hi = keys.Count - 1, found = -1;
        while (lo <= hi)
        {
            var mid = (lo + hi) >>> 1;
            if (keys[mid] <= start) { found = mid; lo = mid + 1; }
            else hi = mid - 1;
        }
        return found;
    }
}
