namespace Ray.Protocol;

/// <summary>
/// Rate-limits log lines about rejected connections: at most one line per reason per interval
/// (one second by default), the next one carrying how many were suppressed in between. One
/// client making thousands of bad connections a second must not turn the log into the attack.
/// Thread-safe; the reasons are a small fixed set of keys (an enum, a bool), never peer input.
/// </summary>
internal sealed class LogThrottle<TReason>(TimeSpan interval) where TReason : struct
{
    private readonly object _lock = new();
    private readonly Dictionary<TReason, (long NextAllowed, long Suppressed)> _state = new();
    private readonly long _intervalTicks = (long)(interval.TotalSeconds * System.Diagnostics.Stopwatch.Frequency);

    /// <summary>One line per reason per second.</summary>
    internal LogThrottle() : this(TimeSpan.FromSeconds(1)) { }

    /// <summary>
    /// True when a line for <paramref name="reason"/> may be written now; then
    /// <paramref name="suppressed"/> is how many were dropped since the last one written.
    /// </summary>
    internal bool ShouldLog(TReason reason, out long suppressed)
    {
        var now = System.Diagnostics.Stopwatch.GetTimestamp();
        lock (_lock)
        {
            _state.TryGetValue(reason, out var s);
            if (s.NextAllowed != 0 && now < s.NextAllowed)
            {
                _state[reason] = (s.NextAllowed, s.Suppressed + 1);
                suppressed = 0;
                return false;
            }
            _state[reason] = (now + _intervalTicks, 0);
            suppressed = s.Suppressed;
            return true;
        }
    }
}
