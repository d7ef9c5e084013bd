namespace Ray.Protocol;

/// <summary>
/// Keeps connections that have not completed their handshake (Hello) apart from authenticated
/// ones, so a flood of unauthenticated connections can never crowd out a peer that knows the
/// token. Shared by the raylet's TCP server, the Plasma store's socket and the workers' sockets.
///
/// 1. <see cref="Admit"/>: a new connection joins the pending pool (in accept order). When the
///    pool is full, the OLDEST pending connection is closed to make room: a legitimate peer
///    sends its Hello right after connecting, so it completes long before a flood can push it
///    out, while a flooder can never hold the pool against newcomers (refusing the newest
///    would let idle connections lock everyone out). Among the oldest few, one whose input
///    this process has not even read yet is spared: on a starved CPU the accept loop can run
///    ahead of the receive loops, and that unread input is usually a Hello in flight.
/// 2. A sweep closes pending connections older than the handshake timeout.
/// 3. <see cref="TryComplete"/> (on a valid Hello) moves the connection to the authenticated
///    count, or refuses it when that count is at its own cap.
/// 4. <see cref="Remove"/> when the connection ends: its slot (pending or authenticated) is free.
///
/// The close callback runs outside the gate's lock, on the accepting thread (evictions) or a
/// timer thread (timeouts); it must not block.
/// </summary>
internal sealed class HandshakeGate<T> : IDisposable where T : class
{
    private readonly object _lock = new();
    private readonly LinkedList<(T Connection, long Deadline)> _pending = new();
    // Every tracked connection: its pending node, or null once authenticated.
    private readonly Dictionary<T, LinkedListNode<(T Connection, long Deadline)>?> _tracked = new(ReferenceEqualityComparer.Instance);
    private readonly Action<T, HandshakeRejection, string> _reject;
    private readonly Func<T, bool>? _hasUnreadInput;
    private readonly Timer _sweep;
    private readonly long _timeoutTicks;
    private int _authenticated;
    private bool _disposed;

    /// <param name="limits">The caps and the timeout.</param>
    /// <param name="reject">Closes a connection the gate pushed out (eviction or timeout), with the reason.</param>
    /// <param name="hasUnreadInput">True when bytes wait in the connection's socket, not read yet (an eviction spares it if it can).</param>
    internal HandshakeGate(ConnectionLimits limits, Action<T, HandshakeRejection, string> reject, Func<T, bool>? hasUnreadInput = null)
    {
        limits.Validate();
        Limits = limits;
        _reject = reject;
        _hasUnreadInput = hasUnreadInput;
        _timeoutTicks = (long)(limits.HandshakeTimeout.TotalSeconds * System.Diagnostics.Stopwatch.Frequency);
        // A quarter of the timeout (20 ms .. 500 ms): a silent connection lives at most 1.25x the timeout.
        var period = TimeSpan.FromTicks(Math.Clamp(limits.HandshakeTimeout.Ticks / 4, TimeSpan.FromMilliseconds(20).Ticks, TimeSpan.FromMilliseconds(500).Ticks));
        _sweep = new Timer(static s => ((HandshakeGate<T>)s!).Sweep(), this, period, period);
    }

    /// <summary>The caps and the timeout.</summary>
    internal ConnectionLimits Limits { get; }

    /// <summary>Connections waiting for their handshake now.</summary>
    internal int PendingCount
    {
        get { lock (_lock) return _pending.Count; }
    }

    /// <summary>Connections that completed their handshake and are still open.</summary>
    internal int AuthenticatedCount => Volatile.Read(ref _authenticated);

    /// <summary>Adds a just-accepted connection to the pending pool, evicting the oldest pending one when the pool is full.</summary>
    internal void Admit(T connection)
    {
        T? evicted = null;
        lock (_lock)
        {
            if (_disposed) return;
            if (_pending.Count >= Limits.MaxPendingHandshakes && _pending.First is { } oldest)
            {
                var victim = PickVictim(oldest);
                evicted = victim.Value.Connection;
                _pending.Remove(victim);
                _tracked.Remove(evicted);
            }
            var node = _pending.AddLast((connection, System.Diagnostics.Stopwatch.GetTimestamp() + _timeoutTicks));
            _tracked[connection] = node;
        }
        if (evicted is not null)
            _reject(evicted, HandshakeRejection.Evicted, $"evicted before its Hello: {Limits.MaxPendingHandshakes} connections were waiting for their handshake");
    }

    // The oldest of the first few pending connections with no unread input; the oldest if all have some.
    private LinkedListNode<(T Connection, long Deadline)> PickVictim(LinkedListNode<(T Connection, long Deadline)> oldest)
    {
        if (_hasUnreadInput is null) return oldest;
        var node = oldest;
        for (var i = 0; i < SparedAtMost && node is not null; i++, node = node.Next)
        {
            bool unread;
            try { unread = _hasUnreadInput(node.Value.Connection); }
            catch (Exception) { unread = false; } // a closed socket has nothing to spare
            if (!unread) return node;
        }
        return oldest;
    }

    /// <summary>How many of the oldest pending connections an eviction looks at (one cheap syscall each).</summary>
    private const int SparedAtMost = 16;

    /// <summary>
    /// The connection sent a valid Hello: true when it now counts as authenticated; false with
    /// <paramref name="refusal"/> when it must be refused (authenticated cap reached, or already
    /// pushed out of the pending pool).
    /// </summary>
    internal bool TryComplete(T connection, out string refusal)
    {
        lock (_lock)
        {
            if (!_tracked.TryGetValue(connection, out var node))
            {
                refusal = "the connection was closed before its Hello was handled (handshake timeout or eviction)";
                return false;
            }
            if (node is null)
            {
                refusal = "";
                return true; // already authenticated
            }
            _pending.Remove(node);
            if (_authenticated >= Limits.MaxConnections)
            {
                _tracked.Remove(connection);
                refusal = $"{Limits.MaxConnections} authenticated connections are open, the limit (try again later)";
                return false;
            }
            _tracked[connection] = null;
            _authenticated++;
        }
        refusal = "";
        return true;
    }

    /// <summary>True when the connection completed its handshake and is still tracked.</summary>
    internal bool IsAuthenticated(T connection)
    {
        lock (_lock) return _tracked.TryGetValue(connection, out var node) && node is null;
    }

    /// <summary>The connection ended: frees its slot, pending or authenticated (idempotent).</summary>
    internal void Remove(T connection)
    {
        lock (_lock)
        {
            if (!_tracked.Remove(connection, out var node)) return;
            if (node is null) _authenticated--;
            else _pending.Remove(node);
        }
    }

    private void Sweep()
    {
        List<T>? expired = null;
        lock (_lock)
        {
            var now = System.Diagnostics.Stopwatch.GetTimestamp();
            while (_pending.First is { } first && first.Value.Deadline <= now)
            {
                _pending.RemoveFirst();
                _tracked.Remove(first.Value.Connection);
                (expired ??= []).Add(first.Value.Connection);
            }
        }
        if (expired is null) return;
        var reason = $"no Hello within {Limits.HandshakeTimeout.TotalSeconds:0.###} s";
        foreach (var c in expired)
        {
            try { _reject(c, HandshakeRejection.Timeout, reason); }
            catch (Exception) { /* a close must not stop the sweep */ }
        }
    }

    /// <summary>Stops the sweep; pending connections are left to their owner's shutdown.</summary>
    public void Dispose()
    {
        lock (_lock) _disposed = true;
        _sweep.Dispose();
    }
}
