using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Ray.Protocol;

namespace Ray.Raylet.Server;

/// <summary>
/// The raylet's TCP server: accepts peers (drivers, the CLI, workers) and runs one
/// <see cref="RayletServerConnection"/> each. A connection that sends garbage, a wrong token or
/// nothing at all is closed with a logged reason (rate-limited for connections that never said
/// Hello); the server and every other connection go on. Connections waiting for their Hello
/// live in their own small pool (<see cref="HandshakeGate{T}"/>), so a flood of them cannot
/// keep drivers and workers out.
/// </summary>
internal sealed partial class RayletServer : IAsyncDisposable
{
    private readonly FramedListener<RayletServerConnection> _listener;
    private readonly HandshakeGate<RayletServerConnection> _gate;
    private readonly LogThrottle<ConnectionRejection> _rejections = new();
    private readonly ILogger _logger;
    private long _rejected;

    /// <summary>Binds <paramref name="endpoint"/> (port 0 picks a free port); call <see cref="Start"/> to accept.</summary>
    internal RayletServer(IRayletHost host, IPEndPoint endpoint, RayletServerOptions? options = null, ILogger? logger = null)
    {
        Host = host;
        Options = options ?? new RayletServerOptions();
        _logger = logger ?? NullLogger.Instance;
        _gate = new HandshakeGate<RayletServerConnection>(Options.Limits, static (c, _, reason) => c.CloseAsync(reason), static c => c.HasUnreadInput);
        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Bind(endpoint);
            socket.Listen(512);
        }
        catch
        {
            socket.Dispose();
            _gate.Dispose();
            throw;
        }
        LocalEndPoint = (IPEndPoint)socket.LocalEndPoint!;
        _listener = new FramedListener<RayletServerConnection>(socket, Accept,
            (e, suppressed) => Log.AcceptFailed(_logger, e.Message, suppressed),
            (c, e) => Log.ConnectionCrashed(_logger, c.Id, c.Peer, e), // never takes the raylet down
            _gate);
    }

    internal IRayletHost Host { get; }

    /// <summary>The limits in force.</summary>
    internal RayletServerOptions Options { get; }

    /// <summary>The bound address (with the real port when 0 was asked for).</summary>
    internal IPEndPoint LocalEndPoint { get; }

    /// <summary>Connections open now.</summary>
    internal int ConnectionCount => _listener.Count;

    /// <summary>Connections open now that said Hello.</summary>
    internal int AuthenticatedCount => _gate.AuthenticatedCount;

    /// <summary>Connections closed before their Hello, since start.</summary>
    internal long RejectedCount => Interlocked.Read(ref _rejected);

    /// <summary>Connections open now that have not said Hello yet.</summary>
    internal int PendingCount => _gate.PendingCount;

    /// <summary>Starts accepting.</summary>
    internal RayletServer Start()
    {
        _listener.Start();
        return this;
    }

    private RayletServerConnection? Accept(Socket socket, long id)
    {
        var peer = socket.RemoteEndPoint?.ToString() ?? "unknown peer";
        socket.NoDelay = true;
        var connection = new RayletServerConnection(this, socket, id, peer);
        Log.Accepted(_logger, id, peer);
        return connection;
    }

    /// <summary>A valid Hello arrived: null when the connection now counts as authenticated, else why it is refused.</summary>
    internal string? TryAuthenticate(RayletServerConnection connection)
    {
        if (!_gate.TryComplete(connection, out var refusal)) return refusal;
        Log.Authenticated(_logger, connection.Id, connection.Peer);
        return null;
    }

    /// <summary>Called once per connection when it begins to close.</summary>
    internal void OnConnectionClosed(RayletServerConnection connection, string reason, bool wasAuthenticated, bool overCapacity, ConnectionRejection? refusal)
    {
        if (!wasAuthenticated)
        {
            Interlocked.Increment(ref _rejected);
            // Whatever a peer that never said Hello does, it costs at most one line per reason a second.
            var kind = ConnectionRejections.Classify(reason, overCapacity, refusal);
            if (_rejections.ShouldLog(kind, out var suppressed))
                Log.Rejected(_logger, connection.Id, connection.Peer, reason, suppressed, kind);
            return;
        }
        if (ConnectionRejections.IsBadInput(reason))
            Log.ClosedBadPeer(_logger, connection.Id, connection.Peer, reason);
        else
            Log.Closed(_logger, connection.Id, connection.Peer, reason);
    }

    /// <summary>Stops accepting and closes every connection (flushing queued replies first).</summary>
    public async ValueTask DisposeAsync()
    {
        // The receive loops finish on their own once the sockets are shut down.
        var slow = await _listener.StopAsync("raylet shutting down", TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        if (slow > 0) Log.SlowClose(_logger, slow);
    }
}
