using System.Net.Sockets;
using Ray.Protocol;
using Ray.Contract.Messages;

namespace Ray.Raylet.Server;

/// <summary>
/// One peer of the raylet: a framed connection whose requests go to a
/// <see cref="RayletRequestHandler"/>. It accepts payloads of at most
/// <see cref="ClusterProtocol.MaxHelloPayload"/> bytes until Hello succeeds, then up to
/// <see cref="ClusterProtocol.MaxPayload"/> (frames pipelined behind the Hello included: the
/// receive loop reads the limit per frame). Until then it sits in the server's pending pool,
/// which closes it after the handshake timeout or when newer connections push it out.
/// </summary>
internal sealed class RayletServerConnection : FramedConnection, IFrameSink
{
    private readonly RayletServer _server;
    private readonly RayletRequestHandler _handler;
    private volatile bool _overCapacity; // a valid Hello refused at the authenticated cap

    internal RayletServerConnection(RayletServer server, Socket socket, long id, string peer)
        : base(socket, ClusterProtocol.MaxHelloPayload)
    {
        _server = server;
        Id = id;
        Peer = peer;
        _handler = new RayletRequestHandler(server.Host, this, $"connection {id} ({peer})", Admit);
    }

    /// <summary>The server's number for this connection.</summary>
    internal long Id { get; }

    /// <summary>The peer's address.</summary>
    internal string Peer { get; }

    /// <summary>True once Hello succeeded.</summary>
    internal bool IsAuthenticated => _handler.IsAuthenticated;

    bool IFrameSink.Send(ushort kind, FrameFlags flags, ulong requestId, ReadOnlySpan<byte> payload) => Send(kind, flags, requestId, payload);

    private string? Admit()
    {
        var refusal = _server.TryAuthenticate(this);
        if (refusal is null) MaxPayload = ClusterProtocol.MaxPayload;
        else _overCapacity = true;
        return refusal;
    }

    protected override void OnFrame(in Frame frame) => _handler.Handle(frame);

    protected override void OnClosed(string reason)
    {
        _handler.OnClosed(reason);
        var refusal = _handler.Refusal switch
        {
            ClusterErrorCode.Unauthenticated => ConnectionRejection.WrongToken,
            ClusterErrorCode.VersionMismatch => ConnectionRejection.VersionMismatch,
            _ => (ConnectionRejection?)null,
        };
        _server.OnConnectionClosed(this, reason, _handler.IsAuthenticated, _overCapacity, refusal);
    }
}
