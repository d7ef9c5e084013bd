using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Ray.Plasma.Store;
using Ray.Protocol;

namespace Ray.Plasma.Server;

/// <summary>
/// Serves a <see cref="PlasmaStore"/> to the other processes of the node over a Unix domain
/// socket. Each connection is one client: what it creates and does not seal, and every view
/// it holds, is released when it disconnects. Bad requests get an error reply; malformed
/// frames close only that connection.
/// </summary>
public sealed partial class PlasmaServer : IAsyncDisposable
{
    private readonly FramedListener<PlasmaServerConnection> _listener;

    /// <summary>Binds <paramref name="socketPath"/> (replacing a stale socket file).</summary>
    public PlasmaServer(PlasmaStore store, string socketPath, ILogger? logger = null)
    {
        Store = store;
        SocketPath = socketPath;
        Logger = logger ?? NullLogger.Instance;
        if (File.Exists(socketPath)) File.Delete(socketPath);
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(socketPath));
        socket.Listen(512);
        // The listener's connection id is the store's client id.
        _listener = new FramedListener<PlasmaServerConnection>(socket,
            (accepted, id) => new PlasmaServerConnection(this, accepted, id),
            e => Log.AcceptFailed(Logger, e.Message),
            (c, e) => Log.ConnectionFailed(Logger, c.ClientId, e));
    }

    /// <summary>The store served.</summary>
    public PlasmaStore Store { get; }

    /// <summary>The socket clients connect to.</summary>
    public string SocketPath { get; }

    internal ILogger Logger { get; }

    /// <summary>Clients connected now.</summary>
    public int ConnectionCount => _listener.Count;

    /// <summary>Starts accepting clients.</summary>
    public PlasmaServer Start()
    {
        _listener.Start();
        return this;
    }

    internal void OnClientClosed(long clientId, string reason)
    {
        Store.DisconnectClient(clientId);
        _reclaimable.TryRemove(clientId, out _);
        Log.ClientClosed(Logger, clientId, reason);
    }

    /// <summary>Stops accepting, closes every connection and removes the socket file.</summary>
    public async ValueTask DisposeAsync()
    {
        await _listener.StopAsync("server shutting down", TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        try { File.Delete(SocketPath); } catch (IOException) { }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Plasma client {Client} disconnected: {Reason}")]
        public static partial void ClientClosed(ILogger logger, long client, string reason);

        [LoggerMessage(2, LogLevel.Warning, "Plasma accept failed: {Error}")]
        public static partial void AcceptFailed(ILogger logger, string error);

        [LoggerMessage(3, LogLevel.Error, "Plasma client {Client} connection failed")]
        public static partial void ConnectionFailed(ILogger logger, long client, Exception error);
    }
}
