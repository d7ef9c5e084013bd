namespace Ray.Plasma.Store;

// Delete, pin and a client's departure.
public sealed partial class PlasmaStore
{
    /// <summary>Deletes the object (at once, or when its last reader releases it). False if unknown.</summary>
    public bool Delete(PlasmaObjectId id)
    {
        lock (_lock)
        {
            if (_disposed || !_objects.TryGetValue(id, out var e)) return false;
            if (e.State == EntryState.Created) throw new PlasmaException(PlasmaStatus.ObjectNotSealed, $"object {id} is being written; abort it instead");
            DeleteLocked(e, LocalClient, Recycle.None);
            return true;
        }
    }

    // Under the lock, on a sealed entry: removed now, or at its last release.
    private void DeleteLocked(StoreEntry e, long client, Recycle recycle)
    {
        if (e.RefCount > 0) e.DeletePending = true;
        else RemoveLocked(e, client, recycle);
    }

    /// <summary>
    /// Deletes every sealed object whose id matches (at once, or when its last reader releases
    /// it), e.g. all objects of an owner that is gone. Returns how many were deleted.
    /// </summary>
    public int DeleteWhere(Func<PlasmaObjectId, bool> match)
    {
        ArgumentNullException.ThrowIfNull(match);
        lock (_lock)
        {
            if (_disposed) return 0;
            var doomed = new List<StoreEntry>();
            foreach (var (id, e) in _objects)
                if (e.State != EntryState.Created && !e.DeletePending && match(id)) doomed.Add(e);
            foreach (var e in doomed)
            {
                if (e.RefCount > 0) e.DeletePending = true;
                else RemoveLocked(e);
            }
            return doomed.Count;
        }
    }

    /// <summary>Marks a sealed object a secondary copy: evictable once unreferenced.</summary>
    public void Unpin(PlasmaObjectId id) => SetPinned(id, false);

    /// <summary>Marks a sealed object a primary copy: never evicted (spilled if space is needed).</summary>
    public void Pin(PlasmaObjectId id) => SetPinned(id, true);

    private void SetPinned(PlasmaObjectId id, bool pinned)
    {
        lock (_lock)
        {
            var e = Find(id);
            Untrack(e);
            e.Pinned = pinned;
            if (e.State == EntryState.Sealed) Track(e);
        }
    }

    /// <summary>True when the object exists and is sealed (in memory or spilled).</summary>
    public bool Contains(PlasmaObjectId id)
    {
        lock (_lock) return _objects.TryGetValue(id, out var e) && e.State != EntryState.Created && !e.DeletePending;
    }

    /// <summary>A client went away: abort what it was writing, release what it was reading, take back its regions.</summary>
    public void DisconnectClient(long client)
    {
        lock (_lock)
        {
            if (_disposed) return;
            FreeRegionsLocked(client); // with the objects it was writing in them
            foreach (var e in _objects.Values.ToArray())
            {
                // Unsealed, or sealed in a region and claimed back (its Free never came): gone.
                if (e.Creator == client && (e.State == EntryState.Created || ClaimedLocked(e)))
                {
                    RemoveLocked(e);
                    continue;
                }
                if (e.Readers.Remove(client, out var n))
                {
                    e.RefCount -= n;
                    if (e.RefCount == 0)
                    {
                        if (e.DeletePending) RemoveLocked(e);
                        else Track(e);
                    }
                }
            }
        }
    }
}
