using System.Collections.Concurrent;

namespace Ray.Serve.Routing;

/// <summary>
/// This process's routers, one per deployment key. In the driver the controller keeps them
/// current; in a replica's worker process the controller's pushes do (see <see cref="Replica.ReplicaActor.AddRoute"/>).
/// Handles look their router up here, so a handle made in a replica needs nothing but its key.
/// </summary>
internal static class Routers
{
    private static readonly ConcurrentDictionary<string, Router> s_all = new(StringComparer.Ordinal);

    internal static Router GetOrCreate(string key) => s_all.GetOrAdd(key, static k => new Router(k));

    internal static void Remove(string key, string reason)
    {
        if (s_all.TryRemove(key, out var r)) r.Close(reason);
    }
}
