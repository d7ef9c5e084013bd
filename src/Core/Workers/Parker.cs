namespace Ray.Workers;

/// <summary>
/// Parks one thread with no lost wake-ups. The owner calls <see cref="Prepare"/>, re-checks
/// for work, then <see cref="Park"/> or <see cref="Cancel"/>; any thread calls
/// <see cref="TryWake"/>, which wakes the owner only if it is parked or about to park.
/// </summary>
internal sealed class Parker
{
    private const int Running = 0, Parking = 1;
    private readonly SemaphoreSlim _signal = new(0, int.MaxValue);
    private int _state;

    internal bool IsParking => Volatile.Read(ref _state) == Parking;

    internal void Prepare() => Interlocked.Exchange(ref _state, Parking);

    /// <summary>Undo <see cref="Prepare"/> because work turned up; absorbs a racing wake.</summary>
    internal void Cancel()
    {
        if (Interlocked.Exchange(ref _state, Running) == Running) _signal.Wait(); // a waker already took us
    }

    internal void Park(TimeSpan timeout)
    {
        if (_signal.Wait(timeout)) return; // woken: the waker reset the state
        Cancel(); // timed out: reset, absorbing a wake that raced with the timeout
    }

    /// <summary>Wakes the owner if it is parking; returns false if it was running.</summary>
    internal bool TryWake()
    {
        if (Interlocked.CompareExchange(ref _state, Running, Parking) != Parking) return false;
        _signal.Release();
        return true;
    }
}
