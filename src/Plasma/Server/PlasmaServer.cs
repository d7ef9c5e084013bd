using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Ray.Plasma.Store;
using Ray.Protocol;

namespace Ray.Plasma.Server;

/// <summary>
/// Serves a <see cref="PlasmaStore"/> to the other processes of the node over a Unix domain
/// socket. Each connection is one client: what it creates and does not seal, every view it
/// holds and every Get it is waiting on are released when it disconnects. Bad requests get an
/// error reply; malformed frames close only that connection. Clients that have not said Hello
/// wait in their own small pool with a timeout (<see cref="PlasmaServerOptions"/>), and lines
/// about rejected ones are rate-limited.
/// </summary>
public sealed partial class PlasmaServer : IAsyncDisposable
{
    private readonly FramedListener<PlasmaServerConnection> _listener;
    private readonly HandshakeGate<PlasmaServerConnection> _gate;
    private readonly LogThrottle<ConnectionRejection> _rejections = new();
    private readonly LogThrottle<bool> _disconnects = new();
    private long _closed;

    /// <summary>Binds <paramref name="socketPath"/> (replacing a stale socket file).</summary>
    public PlasmaServer(PlasmaStore store, string socketPath, ILogger? logger = null, PlasmaServerOptions? options = null)
    {
        Store = store;
        SocketPath = socketPath;
        Logger = logger ?? NullLogger.Instance;
        Options = options ?? new PlasmaServerOptions();
        _gate = new HandshakeGate<PlasmaServerConnection>(Options.Limits, static (c, _, reason) => c.CloseAsync(reason), static c => c.HasUnreadInput);
        if (File.Exists(socketPath)) File.Delete(socketPath);
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            socket.Bind(new UnixDomainSocketEndPoint(socketPath));
            socket.Listen(512);
        }
        catch
        {
            socket.Dispose();
            _gate.Dispose();
            throw;
        }
        // The listener's connection id is the store's client id.
        _listener = new FramedListener<PlasmaServerConnection>(socket,
            (accepted, id) => new PlasmaServerConnection(this, accepted, id),
            (e, suppressed) => Log.AcceptFailed(Logger, e.Message, suppressed),
            (c, e) => Log.ConnectionFailed(Logger, c.ClientId, e),
            _gate);
    }

    /// <summary>The store served.</summary>
    public PlasmaStore Store { get; }

    /// <summary>The socket clients connect to.</summary>
    public string SocketPath { get; }

    /// <summary>The limits in force.</summary>
    public PlasmaServerOptions Options { get; }

    internal ILogger Logger { get; }

    /// <summary>Clients connected now (with or without their Hello).</summary>
    public int ConnectionCount => _listener.Count;

    /// <summary>Clients connected now that said Hello.</summary>
    public int AuthenticatedCount => _gate.AuthenticatedCount;

    /// <summary>Client connections closed since start (with or without their Hello).</summary>
    public long ClosedCount => Interlocked.Read(ref _closed);

    /// <summary>Starts accepting clients.</summary>
    public PlasmaServer Start()
    {
        _listener.Start();
        return this;
    }

    /// <summary>A valid Hello arrived: null when the client is now connected, else why it is refused.</summary>
    internal string? TryAuthenticate(PlasmaServerConnection connection) =>
        _gate.TryComplete(connection, out var refusal) ? null : refusal;

    internal void OnClientClosed(PlasmaServerConnection connection, string reason, bool helloDone, bool overCapacity, ConnectionRejection? refusal)
    {
        Store.DisconnectClient(connection.ClientId);
        _reclaimable.TryRemove(connection.ClientId, out _);
        Interlocked.Increment(ref _closed);
        if (helloDone)
        {
            // A store Hello carries no secret: any local process can come and go at will, so
            // these lines are rate-limited too.
            if (_disconnects.ShouldLog(true, out var dropped)) Log.ClientClosed(Logger, connection.ClientId, reason, dropped);
            return;
        }
        var kind = ConnectionRejections.Classify(reason, overCapacity, refusal);
        if (_rejections.ShouldLog(kind, out var suppressed))
            Log.Rejected(Logger, connection.ClientId, reason, suppressed, kind);
    }

    /// <summary>Stops accepting, closes every connection and removes the socket file.</summary>
    public async ValueTask DisposeAsync()
    {
        await _listener.StopAsync("server shutting down", TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        try { File.Delete(SocketPath); } catch (IOException) { }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Plasma client {Client} disconnected: {Reason} ({Suppressed} more disconnects since the last such line)")]
        public static partial void ClientClosed(ILogger logger, long client, string reason, long suppressed);

        [LoggerMessage(2, LogLevel.Warning, "Plasma accept failed: {Error} ({Suppressed} more since the last line)")]
        public static partial void AcceptFailed(ILogger logger, string error, long suppressed);

        [LoggerMessage(3, LogLevel.Error, "Plasma client {Client} connection failed")]
        public static partial void ConnectionFailed(ILogger logger, long client, Exception error);

        [LoggerMessage(4, LogLevel.Warning, "Plasma rejected connection {Client} before Hello: {Reason} ({Suppressed} more {Kind} rejections since the last such line)")]
        public static partial void Rejected(ILogger logger, long client, string reason, long suppressed, ConnectionRejection kind);
    }
}
