using Ray.Plasma.Store;

namespace Ray.Plasma.Client;

/// <summary>
/// The in-process client: direct calls into the store, no socket. Used by the embedded runtime
/// and by the process that hosts the store. Its synchronous methods are the fast path.
/// </summary>
public sealed class PlasmaLocalClient(PlasmaStore store) : IPlasmaClient, IPlasmaReleaser, IPlasmaSealer
{
    /// <summary>The store.</summary>
    public PlasmaStore Store { get; } = store;

    /// <inheritdoc />
    public PlasmaArena Arena => Store.Arena;

    /// <summary>Reserves an object and returns its writable bytes.</summary>
    public unsafe PlasmaWriteBuffer Create(PlasmaObjectId id, long dataSize, uint typeTag = 0, bool pinned = true)
    {
        Store.EnterUse(); // until seal or abort: the caller writes into the arena meanwhile
        try
        {
            var offset = Store.Create(id, dataSize, typeTag, pinned);
            return new PlasmaWriteBuffer(this, id, Arena.Base + offset, dataSize);
        }
        catch
        {
            Store.ExitUse();
            throw;
        }
    }

    /// <summary>A view of a sealed object, or null when it is not sealed (or unknown).</summary>
    public PlasmaBuffer? TryGet(PlasmaObjectId id)
    {
        Store.EnterUse(); // covers the gap between taking the reference and registering the view
        try { return Store.TryGet(id, out var info) ? View(info) : null; }
        finally { Store.ExitUse(); }
    }

    /// <summary>A view, waiting up to <paramref name="timeout"/> for the seal.</summary>
    public PlasmaBuffer Get(PlasmaObjectId id, TimeSpan timeout)
    {
        Store.EnterUse();
        try { return View(Store.Get(id, timeout)); }
        finally { Store.ExitUse(); }
    }

    /// <inheritdoc />
    public ValueTask<PlasmaWriteBuffer> CreateAsync(PlasmaObjectId id, long dataSize, uint typeTag = 0, bool pinned = true) =>
        ValueTask.FromResult(Create(id, dataSize, typeTag, pinned));

    /// <inheritdoc />
    public ValueTask<PlasmaBuffer> GetAsync(PlasmaObjectId id, TimeSpan timeout)
    {
        var view = TryGet(id);
        return view is not null ? ValueTask.FromResult(view) : new ValueTask<PlasmaBuffer>(GetSlowAsync(id, timeout));
    }

    private async Task<PlasmaBuffer> GetSlowAsync(PlasmaObjectId id, TimeSpan timeout) =>
        View(await Store.GetAsync(id, timeout).ConfigureAwait(false));

    private unsafe PlasmaBuffer View(PlasmaObjectInfo info) => Store.LocalViews.Add(new(this, info, Arena.Base + info.DataOffset));

    /// <inheritdoc />
    public ValueTask<bool> ContainsAsync(PlasmaObjectId id) => ValueTask.FromResult(Store.Contains(id));

    /// <inheritdoc />
    public ValueTask<bool> DeleteAsync(PlasmaObjectId id) => ValueTask.FromResult(Store.Delete(id));

    /// <inheritdoc />
    public ValueTask<PlasmaStats> StatsAsync() => ValueTask.FromResult(Store.Stats);

    void IPlasmaReleaser.Release(PlasmaBuffer view)
    {
        if (Store.LocalViews.Remove(view)) Store.Release(view.Id);
    }

    ValueTask IPlasmaSealer.SealAsync(PlasmaWriteBuffer buffer)
    {
        ((IPlasmaSealer)this).Seal(buffer);
        return ValueTask.CompletedTask;
    }

    ValueTask IPlasmaSealer.AbortAsync(PlasmaWriteBuffer buffer)
    {
        ((IPlasmaSealer)this).Abort(buffer);
        return ValueTask.CompletedTask;
    }

    void IPlasmaSealer.Seal(PlasmaWriteBuffer buffer)
    {
        try { Store.Seal(buffer.Id); }
        finally { Store.ExitUse(); }
    }

    PlasmaBuffer? IPlasmaSealer.SealKeepingView(PlasmaWriteBuffer buffer)
    {
        ((IPlasmaSealer)this).Seal(buffer);
        return null; // a view here is a call away, never a request
    }

    void IPlasmaSealer.Abort(PlasmaWriteBuffer buffer)
    {
        try { Store.Abort(buffer.Id); }
        finally { Store.ExitUse(); }
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
