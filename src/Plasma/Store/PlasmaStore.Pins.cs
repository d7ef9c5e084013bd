namespace Ray.Plasma.Store;

// The GPU hook: page-locking the arena for direct device copies.
public sealed partial class PlasmaStore
{
    /// <summary>
    /// Page-locks the whole arena through <paramref name="pinner"/> (one registration covers every
    /// object, present and future). Dispose the result to unpin; the store unpins on dispose too.
    /// </summary>
    public unsafe IDisposable PinArena(IDevicePinner pinner)
    {
        ArgumentNullException.ThrowIfNull(pinner);
        lock (_lock)
        {
            ThrowIfDisposed();
            var pin = pinner.Pin((nint)Arena.Base, Arena.Capacity);
            _arenaPins.Add(pin);
            return new PinLease(this, pin);
        }
    }

    private readonly List<IDisposable> _arenaPins = new();

    private sealed class PinLease(PlasmaStore store, IDisposable pin) : IDisposable
    {
        public void Dispose()
        {
            lock (store._lock)
            {
                if (!store._arenaPins.Remove(pin)) return;
            }
            pin.Dispose();
        }
    }

}
