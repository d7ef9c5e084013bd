using System.Net.Sockets;
using Ray.Protocol;
using Ray.Raylet.Messages;

namespace Ray.Raylet.Server;

/// <summary>
/// One peer of the raylet: a framed connection whose requests go to a
/// <see cref="RayletRequestHandler"/>. It accepts payloads of at most
/// <see cref="RayletProtocol.MaxHelloPayload"/> bytes until Hello succeeds, then up to
/// <see cref="RayletProtocol.MaxPayload"/>.
/// </summary>
internal sealed class RayletServerConnection : FramedConnection, IFrameSink
{
    private readonly RayletServer _server;
    private readonly RayletRequestHandler _handler;
    private readonly CancellationTokenSource _closed = new();
    private readonly object _countLock = new();
    private bool _counted;   // counted by the server as authenticated
    private bool _isClosing;

    internal RayletServerConnection(RayletServer server, Socket socket, long id, string peer)
        : base(socket, RayletProtocol.MaxHelloPayload)
    {
        _server = server;
        Id = id;
        Peer = peer;
        _handler = new RayletRequestHandler(server.Host, this, $"connection {id} ({peer})");
    }

    /// <summary>The server's number for this connection.</summary>
    internal long Id { get; }

    /// <summary>The peer's address.</summary>
    internal string Peer { get; }

    /// <summary>True once Hello succeeded.</summary>
    internal bool IsAuthenticated => _handler.IsAuthenticated;

    bool IFrameSink.Send(ushort kind, FrameFlags flags, ulong requestId, ReadOnlySpan<byte> payload) => Send(kind, flags, requestId, payload);

    protected override void OnFrame(in Frame frame)
    {
        var wasAuthenticated = _handler.IsAuthenticated;
        _handler.Handle(frame);
        if (!wasAuthenticated && _handler.IsAuthenticated)
        {
            MaxPayload = RayletProtocol.MaxPayload;
            // A close racing the handshake (the timeout) must not leave the count one too high.
            lock (_countLock)
            {
                if (_isClosing) return;
                _counted = true;
            }
            _server.OnAuthenticated(this);
        }
    }

    protected override void OnClosed(string reason)
    {
        bool counted;
        lock (_countLock)
        {
            _isClosing = true;
            counted = _counted;
        }
        _closed.Cancel();
        _handler.OnClosed(reason);
        _server.OnConnectionClosed(this, reason, counted);
    }

    /// <summary>Closes the connection if it has not said Hello within <paramref name="timeout"/>.</summary>
    internal async Task EnforceHandshakeTimeoutAsync(TimeSpan timeout)
    {
        try { await Task.Delay(timeout, _closed.Token).ConfigureAwait(false); }
        catch (OperationCanceledException) { return; }
        if (!IsAuthenticated) await CloseAsync($"no Hello within {timeout.TotalSeconds:0.#} s").ConfigureAwait(false);
    }
}
