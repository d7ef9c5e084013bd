using System.Net;

namespace Ray.Gpu.Collectives.Tcp;

/// <summary>
/// How the ranks of a TCP group (<see cref="CollectiveGroup.JoinTcp"/>) find each other: either every
/// rank's endpoint is known up front (<see cref="FromEndpoints"/>: rank r listens on endpoint r), or
/// only rank 0's (<see cref="FromRankZero"/>: rank 0 listens there, the others listen on an ephemeral
/// port, tell rank 0 where, and rank 0 hands everyone the roster). Every connection starts with a
/// handshake carrying the group name, world size, frame limit and <see cref="Token"/>; a mismatch is
/// refused with a reason and the connection closed.
/// </summary>
public sealed record TcpRendezvous
{
    private TcpRendezvous(IReadOnlyList<IPEndPoint>? endpoints, IPEndPoint? rankZero, IPAddress? listenAddress, string token)
    {
        Endpoints = endpoints;
        RankZero = rankZero;
        ListenAddress = listenAddress;
        Token = token;
    }

    /// <summary>Every rank's endpoint, in rank order (<see cref="FromEndpoints"/>); null otherwise.</summary>
    public IReadOnlyList<IPEndPoint>? Endpoints { get; }

    /// <summary>Rank 0's endpoint (<see cref="FromRankZero"/>); null otherwise.</summary>
    public IPEndPoint? RankZero { get; }

    /// <summary>
    /// With <see cref="FromRankZero"/>: the address ranks other than 0 listen on (an ephemeral port);
    /// by default the local address of their connection to rank 0, which the other ranks can reach.
    /// </summary>
    public IPAddress? ListenAddress { get; }

    /// <summary>The group's shared secret; a peer presenting another is refused.</summary>
    public string Token { get; }

    /// <summary>Rank r listens on <paramref name="endpoints"/>[r] and connects to every lower rank.</summary>
    public static TcpRendezvous FromEndpoints(IReadOnlyList<IPEndPoint> endpoints, string token = "")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(token);
        if (endpoints.Count == 0 || endpoints.Any(e => e is null || e.Port == 0))
        {
            throw new ArgumentException("Every rank needs an endpoint with a fixed port.", nameof(endpoints));
        }

        return new TcpRendezvous(endpoints.Select(Normalize).ToArray(), null, null, token);
    }

    /// <summary>
    /// Rank 0 listens on <paramref name="rankZero"/> (port 0 only makes sense when the others learn
    /// the bound port another way); the others connect to it, and rank 0 sends back every rank's endpoint.
    /// </summary>
    public static TcpRendezvous FromRankZero(IPEndPoint rankZero, string token = "", IPAddress? listenAddress = null)
    {
        ArgumentNullException.ThrowIfNull(rankZero);
        ArgumentNullException.ThrowIfNull(token);
        return new TcpRendezvous(null, Normalize(rankZero), listenAddress, token);
    }

    /// <summary>An IPv4 address seen through a dual-mode socket (::ffff:a.b.c.d) becomes plain IPv4, which any socket can bind.</summary>
    private static IPEndPoint Normalize(IPEndPoint endpoint) =>
        endpoint.Address.IsIPv4MappedToIPv6 ? new IPEndPoint(endpoint.Address.MapToIPv4(), endpoint.Port) : endpoint;
}
