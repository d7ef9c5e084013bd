using System.Security.Cryptography;
using System.Text;
using Ray.Protocol;
using Ray.Raylet.Messages;

namespace Ray.Raylet.Server;

/// <summary>
/// One connection's side of the raylet protocol, without the socket: the handshake state and the
/// dispatch of each request to the host. Tests and the fuzzer drive it with parsed frames.
///
/// 1. Until a Hello with this protocol version and the cluster token succeeds, nothing else is
///    accepted.
/// 2. Afterwards: Status, Shutdown (and later the lease messages).
/// 3. Any error answers with an error reply (even to a one-way request) and then throws
///    <see cref="ProtocolException"/>, which closes the connection; the raylet goes on serving
///    every other connection. A failure inside the host answers with an Internal error and keeps
///    the connection.
/// </summary>
internal sealed class RayletRequestHandler(IRayletHost host, IFrameSink sink, string peer)
{
    private readonly byte[] _expectedToken = Encoding.UTF8.GetBytes(host.ClusterToken);

    /// <summary>True once Hello succeeded.</summary>
    public bool IsAuthenticated { get; private set; }

    /// <summary>The peer, for messages (address or a test name).</summary>
    public string Peer { get; } = peer;

    /// <summary>Handles one request.</summary>
    /// <exception cref="ProtocolException">The request was refused or malformed; an error reply was queued; close the connection.</exception>
    public void Handle(in Frame frame)
    {
        var h = frame.Header;
        RayletErrorCode code;
        string message;
        try
        {
            HandleCore(frame);
            return;
        }
        catch (RefusedException e) { (code, message) = (e.Code, e.Message); }
        catch (ProtocolException e) { (code, message) = (RayletErrorCode.ProtocolError, e.Message); }
        catch (HostFailedException e)
        {
            // The host failed (e.g. the store is going away during shutdown): the request was
            // well formed, so the connection stays.
            sink.Send(h.Kind, FrameFlags.Reply | FrameFlags.Error, h.RequestId, RayletCodec.EncodeError(RayletErrorCode.Internal, e.Message));
            return;
        }
        sink.Send(h.Kind, FrameFlags.Reply | FrameFlags.Error, h.RequestId, RayletCodec.EncodeError(code, message));
        throw new ProtocolException(message);
    }

    private void HandleCore(in Frame frame)
    {
        var h = frame.Header;
        if ((h.Flags & (FrameFlags.Reply | FrameFlags.Error)) != 0)
            throw new ProtocolException($"{Peer} sent a frame with flags {h.Flags} (kind {h.Kind}); requests carry neither Reply nor Error");
        var oneWay = (h.Flags & FrameFlags.NoReply) != 0;
        var kind = (RayletMessageKind)h.Kind;
        if (!IsAuthenticated && kind != RayletMessageKind.Hello)
            throw new RefusedException(RayletErrorCode.ProtocolError, $"{Peer} sent message kind {h.Kind} before Hello; Hello with the cluster token comes first");
        switch (kind)
        {
            case RayletMessageKind.Hello:
            {
                if (IsAuthenticated) throw new ProtocolException($"{Peer} sent a second Hello");
                if (oneWay) throw new ProtocolException($"{Peer} sent Hello one-way; it needs a reply");
                var (version, token) = RayletCodec.DecodeHello(frame.Payload);
                if (version != RayletProtocol.Version)
                    throw new RefusedException(RayletErrorCode.VersionMismatch, $"{Peer} speaks raylet protocol version {version}; this raylet speaks version {RayletProtocol.Version}");
                if (!TokenMatches(token))
                    throw new RefusedException(RayletErrorCode.Unauthenticated, $"refused {Peer}: wrong cluster token (find it in the raylet's address file, or set RAY_CLUSTER_TOKEN)");
                IsAuthenticated = true;
                Reply(h, CallHost(h, static host => RayletCodec.EncodeHelloReply(host.HelloReply)));
                break;
            }
            case RayletMessageKind.Status:
                ExpectEmpty(frame);
                if (oneWay) throw new ProtocolException($"{Peer} sent Status one-way; it needs a reply");
                Reply(h, CallHost(h, static host => RayletCodec.EncodeStatus(host.GetStatus())));
                break;
            case RayletMessageKind.Shutdown:
                ExpectEmpty(frame);
                if (!oneWay) Reply(h, []);
                host.RequestShutdown($"Shutdown message from {Peer}");
                break;
            default:
                throw new ProtocolException($"{Peer} sent unknown message kind {h.Kind}");
        }
    }

    private byte[] CallHost(FrameHeader request, Func<IRayletHost, byte[]> call)
    {
        try { return call(host); }
        catch (Exception e) { throw new HostFailedException($"the raylet failed to handle message kind {request.Kind}: {e.GetType().Name}: {e.Message}"); }
    }

    private void Reply(FrameHeader request, ReadOnlySpan<byte> payload) =>
        sink.Send(request.Kind, FrameFlags.Reply, request.RequestId, payload);

    private static void ExpectEmpty(in Frame frame)
    {
        if (frame.Payload.Length != 0)
            throw new ProtocolException($"message kind {frame.Header.Kind} takes an empty payload, not {frame.Payload.Length} bytes");
    }

    private bool TokenMatches(string token)
    {
        // Constant time in the token's contents; the length is not secret (it is fixed).
        var presented = Encoding.UTF8.GetBytes(token);
        return CryptographicOperations.FixedTimeEquals(presented, _expectedToken);
    }

    /// <summary>The host threw while answering a well-formed request.</summary>
    private sealed class HostFailedException(string message) : Exception(message);

    /// <summary>A well-formed request the raylet refuses with a specific code.</summary>
    private sealed class RefusedException(RayletErrorCode code, string message) : Exception(message)
    {
        public RayletErrorCode Code { get; } = code;
    }
}
