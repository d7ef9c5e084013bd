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

    /// <summary>
    /// Asks every such client to release its unused views; returns the bytes they released. A
    /// client that does not answer within <see cref="ReclaimWait"/> is not asked again (it keeps
    /// its views), so it can delay a full store's answer once, not every time.
    /// </summary>
    internal async Task<long> ReclaimAsync()
    {
        var clients = _reclaimable.Values.ToArray();
        if (clients.Length == 0) return 0;
        var asks = new Task<long>[clients.Length];
        for (var i = 0; i < clients.Length; i++) asks[i] = clients[i].AskReclaimAsync(ReclaimWait);
        var answers = await Task.WhenAll(asks).ConfigureAwait(false);
        long freed = 0;
        for (var i = 0; i < clients.Length; i++)
        {
            if (answers[i] >= 0) freed += answers[i];
            else _reclaimable.TryRemove(clients[i].ClientId, out _);
        }
        return freed;
    }
}
