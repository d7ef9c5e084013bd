using System.Collections.Concurrent;
using System.Net.Sockets;

namespace Ray.Protocol;

/// <summary>
/// The accept side shared by the Plasma store's server and the raylet: one accept loop over a
/// bound, listening socket, a table of live connections keyed by a per-listener id, and a
/// shutdown that closes them all and waits (bounded) for them to finish.
///
/// 1. <see cref="Start"/> runs the accept loop; each accepted socket goes to the owner's
///    factory, which builds the connection (or returns null to refuse, having disposed it).
///    With a <see cref="HandshakeGate{T}"/>, the connection then waits in its pending pool until
///    it completes its Hello (the owner calls <see cref="HandshakeGate{T}.TryComplete"/>).
/// 2. Each connection runs until it closes, then leaves the table; an exception escaping it
///    is reported to the owner and never ends the process.
/// 3. <see cref="DisposeAsync"/> stops accepting, closes every connection with a reason and
///    waits for all of them together.
/// </summary>
internal sealed class FramedListener<TConnection> : IAsyncDisposable where TConnection : FramedConnection
{
    private readonly Socket _listener;
    private readonly Func<Socket, long, TConnection?> _accept;
    private readonly Action<Exception, long> _onAcceptError;
    private readonly LogThrottle<bool> _acceptErrors = new();
    private readonly Action<TConnection, Exception> _onCrash;
    private readonly ConcurrentDictionary<long, TConnection> _connections = new();
    private readonly HandshakeGate<TConnection>? _gate;
    private readonly CancellationTokenSource _stop = new();
    private Task? _acceptLoop;
    private long _nextId;

    /// <param name="listener">A bound, listening socket; the listener owns it from now on.</param>
    /// <param name="accept">Builds the connection for an accepted socket and id, or returns null to refuse it.</param>
    /// <param name="onAcceptError">Told of a failed accept and how many were not told since (at most one a second; the loop goes on).</param>
    /// <param name="onCrash">Told of an exception that escaped a connection (the server goes on).</param>
    /// <param name="gate">Keeps connections that have not said Hello apart (cap, timeout); the listener owns it.</param>
    internal FramedListener(Socket listener, Func<Socket, long, TConnection?> accept, Action<Exception, long> onAcceptError,
        Action<TConnection, Exception> onCrash, HandshakeGate<TConnection>? gate = null)
    {
        _gate = gate;
        _listener = listener;
        _accept = accept;
        _onAcceptError = onAcceptError;
        _onCrash = onCrash;
    }

    /// <summary>How long the accept loop pauses after a failed accept.</summary>
    internal static readonly TimeSpan AcceptErrorPause = TimeSpan.FromMilliseconds(20);

    /// <summary>Connections open now.</summary>
    internal int Count => _connections.Count;

    /// <summary>Starts accepting (once).</summary>
    internal void Start() => _acceptLoop ??= AcceptLoopAsync();

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
                // Out of descriptors (EMFILE) or buffers under a flood: the error repeats until
                // connections close, so pause instead of spinning, and log it rate-limited.
                if (_acceptErrors.ShouldLog(true, out var suppressed)) _onAcceptError(e, suppressed);
                try { await Task.Delay(AcceptErrorPause, _stop.Token).ConfigureAwait(false); }
                catch (OperationCanceledException) { break; }
                continue;
            }
            var id = Interlocked.Increment(ref _nextId);
            var connection = _accept(socket, id);
            if (connection is null) continue;
            _connections[id] = connection;
            _gate?.Admit(connection);
            _ = RunAsync(id, connection);
        }
    }

    private async Task RunAsync(long id, TConnection connection)
    {
        await Task.Yield();
        try { await connection.RunAsync().ConfigureAwait(false); }
        catch (Exception e) { _onCrash(connection, e); }
        finally
        {
            _connections.TryRemove(id, out _);
            _gate?.Remove(connection);
        }
    }

    /// <summary>
    /// Stops accepting, closes every connection with <paramref name="reason"/> and waits up to
    /// <paramref name="wait"/> for all to finish; returns how many had not.
    /// </summary>
    internal async Task<int> StopAsync(string reason, TimeSpan wait)
    {
        _stop.Cancel();
        _listener.Dispose();
        _gate?.Dispose();
        if (_acceptLoop is not null) await _acceptLoop.ConfigureAwait(false);
        var open = _connections.Values.ToArray();
        await Task.WhenAll(open.Select(c => c.CloseAsync(reason))).ConfigureAwait(false);
        try { await Task.WhenAll(open.Select(c => c.Completion)).WaitAsync(wait).ConfigureAwait(false); }
        catch (TimeoutException) { return open.Count(c => !c.Completion.IsCompleted); }
        return 0;
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync() => await StopAsync("server shutting down", TimeSpan.FromSeconds(5)).ConfigureAwait(false);
}
