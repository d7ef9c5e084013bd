using System.Collections.Concurrent;

namespace Ray.Plasma.Server;

// Clients that keep views they are not using (a connected driver's held views) and drop them
// when asked: the store asks before it reports itself full, so such views never cost space.
public sealed partial class PlasmaServer
{
    private readonly ConcurrentDictionary<long, PlasmaServerConnection> _reclaimable = new();
    private readonly Lock _reclaimLock = new();
    private Task<bool>? _reclaim;

    /// <summary>How long the store waits for a client to answer a Reclaim before going on without it.</summary>
    internal static TimeSpan ReclaimWait { get; } = TimeSpan.FromSeconds(2);

    /// <summary>True when some client keeps unused views that a Reclaim may free.</summary>
    internal bool CanReclaim => !_reclaimable.IsEmpty;

    /// <summary>
    /// Adds a client that keeps views (HoldsViews, or a late Reclaim answer that shows it alive
    /// again); not one that missed a Reclaim and has not answered it since.
    /// </summary>
    internal void AddReclaimable(PlasmaServerConnection connection)
    {
        if (connection.CloseReason is null && !connection.ReclaimMissed) _reclaimable[connection.ClientId] = connection;
        if (connection.CloseReason is not null) _reclaimable.TryRemove(connection.ClientId, out _); // raced with close
    }

    /// <summary>
    /// Asks every such client to release its unused views; true when the store has more to
    /// spill, evict or allocate afterwards (its own count, not the clients' word). Every waiter
    /// shares the one round in flight, so a full store sends one Reclaim per client per round
    /// however many creates and restores wait. A client that does not answer within
    /// <see cref="ReclaimWait"/> is not asked again until it answers late (it keeps its views
    /// meanwhile), so a stalled client delays a full store's answer once, not every time.
    /// </summary>
    internal Task<bool> ReclaimAsync()
    {
        lock (_reclaimLock)
        {
            if (_reclaim is { IsCompleted: false } running) return running;
            return _reclaim = ReclaimRoundAsync();
        }
    }

    private async Task<bool> ReclaimRoundAsync()
    {
        var before = Store.ReclaimableVersion;
        var clients = _reclaimable.Values.ToArray();
        if (clients.Length == 0) return false;
        var asks = new Task<bool>[clients.Length];
        for (var i = 0; i < clients.Length; i++) asks[i] = clients[i].AskReclaimAsync(ReclaimWait);
        var answered = await Task.WhenAll(asks).ConfigureAwait(false);
        for (var i = 0; i < clients.Length; i++)
        {
            if (answered[i]) continue;
            _reclaimable.TryRemove(clients[i].ClientId, out _);
            AddReclaimable(clients[i]); // back at once if its late answer came meanwhile (it cleared the mark)
        }
        return Store.ReclaimableVersion != before;
    }
}
