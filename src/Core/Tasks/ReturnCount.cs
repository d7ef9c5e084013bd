namespace Ray.Tasks;

/// <summary>Checks a task's <see cref="TaskOptions.NumReturns"/> against the call shape used to submit it.</summary>
internal static class ReturnCount
{
    /// <summary>
    /// <paramref name="returns"/>: refs the call shape gives (1 for <c>Remote</c>, the tuple's
    /// arity for <c>RemoteMulti</c>, 0 for a stream). A NumReturns that differs is refused.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">NumReturns below 1.</exception>
    /// <exception cref="ArgumentException">NumReturns does not match the call shape.</exception>
    internal static void Check(int? numReturns, int returns, string name)
    {
        if (numReturns is not { } n) return;
        if (n < 1)
            throw new ArgumentOutOfRangeException("options", n, $"NumReturns of {name} is {n}; it must be at least 1 (Ray rejects it too).");
        if (returns == 0)
            throw new ArgumentException($"{name} is called as a stream (RemoteStream), whose number of items is not fixed: leave NumReturns unset.", "options");
        if (n != returns)
            throw new ArgumentException(returns == 1
                ? $"NumReturns = {n} for {name}: call RemoteMulti on a function returning a {n}-tuple to get {n} refs (Remote gives one ref)."
                : $"NumReturns = {n} for {name}, but its tuple has {returns} items (RemoteMulti gives one ref per item).", "options");
    }

    /// <summary>Checks a stream's back-pressure bound.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Below 0.</exception>
    internal static void CheckBackpressure(int items, string name)
    {
        if (items < 0)
            throw new ArgumentOutOfRangeException("options", items, $"GeneratorBackpressureItems of {name} is {items}; 0 (no bound) or more is allowed.");
    }
}
