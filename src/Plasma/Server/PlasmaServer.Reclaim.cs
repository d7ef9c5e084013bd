using System.Collections.Concurrent;

namespace Ray.Plasma.Server;

// Clients that keep views they are not using (a connected driver's held views) and drop them
// when asked: the store asks before it reports itself full, so such views never cost space.
public sealed partial class PlasmaServer
{
    private readonly ConcurrentDictionary<long, PlasmaServerConnection> _reclaimable = new();

    /// <summary>How long the store waits for a client to answer a Reclaim before going on without it.</summary>
    internal static TimeSpan ReclaimWait { get; } = TimeSpan.FromSeconds(2);

    /// <summary>True when some client keeps unused views that a Reclaim may free.</summary>
    internal bool CanReclaim => !_reclaimable.IsEmpty;

    internal void AddReclaimable(PlasmaServerConnection connection)
    {
        if (connection.CloseReason is null) _reclaimable[connection.ClientId] = connection;
        if (connection.CloseReason is not null) _reclaimable.TryRemove(connection.ClientId, out _); // raced with close
    }

    /// <summary>Asks every such client to release its unused views; returns the bytes they released.</summary>
    internal async Task<long> ReclaimAsync()
    {
        var asks = new List<Task<long>>(_reclaimable.Count);
        foreach (var c in _reclaimable.Values) asks.Add(c.AskReclaimAsync(ReclaimWait));
        if (asks.Count == 0) return 0;
        long freed = 0;
        foreach (var n in await Task.WhenAll(asks).ConfigureAwait(false)) freed += n;
        return freed;
    }
}
