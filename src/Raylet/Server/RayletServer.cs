using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Ray.Protocol;

namespace Ray.Raylet.Server;

/// <summary>
/// The raylet's TCP server: accepts peers (drivers, the CLI, later workers and other nodes) and
/// runs one <see cref="RayletServerConnection"/> each. A connection that sends garbage, a wrong
/// token or nothing at all is closed with a logged reason; the server and every other connection
/// go on.
/// </summary>
internal sealed partial class RayletServer : IAsyncDisposable
{
    private readonly FramedListener<RayletServerConnection> _listener;
    private readonly RayletServerOptions _options;
    private readonly ILogger _logger;
    private int _authenticated;

    /// <summary>Binds <paramref name="endpoint"/> (port 0 picks a free port); call <see cref="Start"/> to accept.</summary>
    internal RayletServer(IRayletHost host, IPEndPoint endpoint, RayletServerOptions? options = null, ILogger? logger = null)
    {
        Host = host;
        _options = options ?? new RayletServerOptions();
        _logger = logger ?? NullLogger.Instance;
        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Bind(endpoint);
            socket.Listen(512);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        LocalEndPoint = (IPEndPoint)socket.LocalEndPoint!;
        _listener = new FramedListener<RayletServerConnection>(socket, Accept,
            e => Log.AcceptFailed(_logger, e.Message),
            (c, e) => Log.ConnectionCrashed(_logger, c.Id, c.Peer, e)); // never takes the raylet down
    }

    internal IRayletHost Host { get; }

    /// <summary>The bound address (with the real port when 0 was asked for).</summary>
    internal IPEndPoint LocalEndPoint { get; }

    /// <summary>Connections open now.</summary>
    internal int ConnectionCount => _listener.Count;

    /// <summary>Connections open now that said Hello.</summary>
    internal int AuthenticatedCount => Volatile.Read(ref _authenticated);

    /// <summary>Starts accepting.</summary>
    internal RayletServer Start()
    {
        _listener.Start();
        return this;
    }

    private RayletServerConnection? Accept(Socket socket, long id)
    {
        var peer = socket.RemoteEndPoint?.ToString() ?? "unknown peer";
        if (_listener.Count >= _options.MaxConnections)
        {
            Log.TooManyConnections(_logger, peer, _options.MaxConnections);
            socket.Dispose();
            return null;
        }
        socket.NoDelay = true;
        var connection = new RayletServerConnection(this, socket, id, peer);
        Log.Accepted(_logger, id, peer);
        _ = connection.EnforceHandshakeTimeoutAsync(_options.HandshakeTimeout);
        return connection;
    }

    /// <summary>Counts an authenticated connection (called at most once per connection, never after its close).</summary>
    internal void OnAuthenticated(RayletServerConnection connection)
    {
        Interlocked.Increment(ref _authenticated);
        Log.Authenticated(_logger, connection.Id, connection.Peer);
    }

    /// <summary>Called once per connection when it begins to close; <paramref name="wasCounted"/> undoes <see cref="OnAuthenticated"/>.</summary>
    internal void OnConnectionClosed(RayletServerConnection connection, string reason, bool wasCounted)
    {
        if (wasCounted) Interlocked.Decrement(ref _authenticated);
        if (reason.StartsWith("protocol error", StringComparison.Ordinal) || reason.StartsWith("internal error", StringComparison.Ordinal) || reason.StartsWith("no Hello", StringComparison.Ordinal))
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
