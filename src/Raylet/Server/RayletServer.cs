using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ray.Raylet.Server;

/// <summary>
/// The raylet's TCP server: accepts peers (drivers, the CLI, later workers and other nodes) and
/// runs one <see cref="RayletServerConnection"/> each. A connection that sends garbage, a wrong
/// token or nothing at all is closed with a logged reason; the server and every other connection
/// go on.
/// </summary>
internal sealed partial class RayletServer : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly ConcurrentDictionary<long, RayletServerConnection> _connections = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly RayletServerOptions _options;
    private readonly ILogger _logger;
    private Task? _acceptLoop;
    private long _nextConnection;
    private int _authenticated;

    /// <summary>Binds <paramref name="endpoint"/> (port 0 picks a free port); call <see cref="Start"/> to accept.</summary>
    internal RayletServer(IRayletHost host, IPEndPoint endpoint, RayletServerOptions? options = null, ILogger? logger = null)
    {
        Host = host;
        _options = options ?? new RayletServerOptions();
        _logger = logger ?? NullLogger.Instance;
        _listener = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            _listener.Bind(endpoint);
            _listener.Listen(512);
        }
        catch
        {
            _listener.Dispose();
            throw;
        }
        LocalEndPoint = (IPEndPoint)_listener.LocalEndPoint!;
    }

    internal IRayletHost Host { get; }

    /// <summary>The bound address (with the real port when 0 was asked for).</summary>
    internal IPEndPoint LocalEndPoint { get; }

    /// <summary>Connections open now.</summary>
    internal int ConnectionCount => _connections.Count;

    /// <summary>Connections open now that said Hello.</summary>
    internal int AuthenticatedCount => Volatile.Read(ref _authenticated);

    /// <summary>Starts accepting.</summary>
    internal RayletServer Start()
    {
        _acceptLoop ??= AcceptLoopAsync();
        return this;
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try { socket = await _listener.AcceptAsync(_stop.Token).ConfigureAwait(false); }
            catch (OperationCanceledException) { break; }
            catch (ObjectDisposedException) { break; }
            catch (SocketException e)
            {
                Log.AcceptFailed(_logger, e.Message);
                continue;
            }
            var peer = socket.RemoteEndPoint?.ToString() ?? "unknown peer";
            if (_connections.Count >= _options.MaxConnections)
            {
                Log.TooManyConnections(_logger, peer, _options.MaxConnections);
                socket.Dispose();
                continue;
            }
            socket.NoDelay = true;
            var id = Interlocked.Increment(ref _nextConnection);
            var connection = new RayletServerConnection(this, socket, id, peer);
            _connections[id] = connection;
            Log.Accepted(_logger, id, peer);
            _ = RunConnectionAsync(connection);
            _ = connection.EnforceHandshakeTimeoutAsync(_options.HandshakeTimeout);
        }
    }

    private async Task RunConnectionAsync(RayletServerConnection connection)
    {
        await Task.Yield();
        try { await connection.RunAsync().ConfigureAwait(false); }
        catch (Exception e) { Log.ConnectionCrashed(_logger, connection.Id, connection.Peer, e); } // never takes the raylet down
        finally { _connections.TryRemove(connection.Id, out _); }
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
        _stop.Cancel();
        _listener.Dispose();
        if (_acceptLoop is not null) await _acceptLoop.ConfigureAwait(false);
        var open = _connections.Values.ToArray();
        await Task.WhenAll(open.Select(c => c.CloseAsync("raylet shutting down"))).ConfigureAwait(false);
        // The receive loops finish on their own once the sockets are shut down.
        try { await Task.WhenAll(open.Select(c => c.Completion)).WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false); }
        catch (TimeoutException) { Log.SlowClose(_logger, open.Count(c => !c.Completion.IsCompleted)); }
        _stop.Dispose();
    }
}
