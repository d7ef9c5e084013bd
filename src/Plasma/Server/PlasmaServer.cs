using System.Collections.Concurrent;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Ray.Plasma.Store;

namespace Ray.Plasma.Server;

/// <summary>
/// Serves a <see cref="PlasmaStore"/> to the other processes of the node over a Unix domain
/// socket. Each connection is one client: what it creates and does not seal, and every view
/// it holds, is released when it disconnects. Bad requests get an error reply; malformed
/// frames close only that connection.
/// </summary>
public sealed partial class PlasmaServer : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly ConcurrentDictionary<long, PlasmaServerConnection> _connections = new();
    private readonly CancellationTokenSource _stop = new();
    private Task? _acceptLoop;
    private long _nextClient;

    /// <summary>Binds <paramref name="socketPath"/> (replacing a stale socket file).</summary>
    public PlasmaServer(PlasmaStore store, string socketPath, ILogger? logger = null)
    {
        Store = store;
        SocketPath = socketPath;
        Logger = logger ?? NullLogger.Instance;
        if (File.Exists(socketPath)) File.Delete(socketPath);
        _listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        _listener.Bind(new UnixDomainSocketEndPoint(socketPath));
        _listener.Listen(512);
    }

    /// <summary>The store served.</summary>
    public PlasmaStore Store { get; }

    /// <summary>The socket clients connect to.</summary>
    public string SocketPath { get; }

    internal ILogger Logger { get; }

    /// <summary>Clients connected now.</summary>
    public int ConnectionCount => _connections.Count;

    /// <summary>Starts accepting clients.</summary>
    public PlasmaServer Start()
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
            catch (SocketException e)
            {
                Log.AcceptFailed(Logger, e.Message);
                continue;
            }
            var id = Interlocked.Increment(ref _nextClient);
            var connection = new PlasmaServerConnection(this, socket, id);
            _connections[id] = connection;
            _ = RunConnectionAsync(connection);
        }
    }

    private async Task RunConnectionAsync(PlasmaServerConnection connection)
    {
        await Task.Yield();
        try { await connection.RunAsync().ConfigureAwait(false); }
        finally { _connections.TryRemove(connection.ClientId, out _); }
    }

    internal void OnClientClosed(long clientId, string reason)
    {
        Store.DisconnectClient(clientId);
        Log.ClientClosed(Logger, clientId, reason);
    }

    /// <summary>Stops accepting, closes every connection and removes the socket file.</summary>
    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Dispose();
        if (_acceptLoop is not null) await _acceptLoop.ConfigureAwait(false);
        foreach (var c in _connections.Values) await c.CloseAsync("server shutting down").ConfigureAwait(false);
        try { File.Delete(SocketPath); } catch (IOException) { }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Plasma client {Client} disconnected: {Reason}")]
        public static partial void ClientClosed(ILogger logger, long client, string reason);

        [LoggerMessage(2, LogLevel.Warning, "Plasma accept failed: {Error}")]
        public static partial void AcceptFailed(ILogger logger, string error);
    }
}
