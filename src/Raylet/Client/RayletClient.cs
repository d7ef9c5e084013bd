using System.Buffers;
using System.Net.Sockets;
using Ray.Contract.Messages;
using Ray.Protocol;

namespace Ray.Raylet.Client;

/// <summary>
/// A connection to a raylet's TCP port: connects, says Hello with the cluster token, then sends
/// requests. Requests may be pipelined (many in flight from many threads); a receive loop matches
/// replies to requests by id. Used by the CLI and the tests (which also act as drivers and
/// workers through the internal cluster calls); Ray.Core's drivers and workers speak the same
/// messages with Core's own client and <c>ClusterCodec</c>.
/// </summary>
public sealed class RayletClient : IAsyncDisposable
{
    /// <summary>The default time to wait for a connection or a reply.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    private readonly ReplyTable<(FrameFlags Flags, byte[] Payload)> _replies = new();
    private readonly Connection _connection;
    private readonly TimeSpan _timeout;

    private RayletClient(Socket socket, string address, TimeSpan timeout)
    {
        Address = address;
        _timeout = timeout;
        _connection = new Connection(this, socket);
        _ = _connection.RunAsync();
    }

    /// <summary>The raylet's address as given.</summary>
    public string Address { get; }

    /// <summary>The raylet's answer to Hello (node id, object store socket and file).</summary>
    public HelloReply Hello { get; private set; } = new(0, "", "", "");

    /// <summary>
    /// Connects to <paramref name="address"/> (host:port) and authenticates with
    /// <paramref name="token"/>.
    /// </summary>
    /// <exception cref="RayletException">No connection, or the raylet refused the token or version.</exception>
    /// <exception cref="TimeoutException">No connection or no Hello reply within the timeout.</exception>
    public static async Task<RayletClient> ConnectAsync(string address, string token, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(token);
        var limit = timeout ?? DefaultTimeout;
        System.Net.IPEndPoint[] endpoints;
        try { endpoints = await RayletEndpoint.ResolveAsync(address, cancellationToken).ConfigureAwait(false); }
        catch (Exception e) when (e is FormatException or SocketException) { throw new RayletException(ClusterErrorCode.Unknown, $"cannot resolve the raylet address '{address}': {e.Message}", e); }
        Socket? socket = null;
        Exception? last = null;
        using (var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            cts.CancelAfter(limit);
            foreach (var endpoint in endpoints)
            {
                var s = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    await s.ConnectAsync(endpoint, cts.Token).ConfigureAwait(false);
                    socket = s;
                    break;
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    s.Dispose();
                    throw new TimeoutException($"no connection to the raylet at {address} within {limit.TotalSeconds:0.#} s");
                }
                catch (SocketException e)
                {
                    s.Dispose();
                    last = e;
                }
            }
        }
        if (socket is null)
            throw new RayletException(ClusterErrorCode.Unknown, $"cannot connect to the raylet at {address}: {last?.Message ?? "no address"} (is it running? `ray start --head` starts one)", last);
        var client = new RayletClient(socket, address, limit);
        try
        {
            var reply = await client.RequestAsync(ClusterMessageKind.Hello, ClusterCodec.EncodeHello(ClusterProtocol.Version, token), cancellationToken).ConfigureAwait(false);
            client.Hello = ClusterCodec.DecodeHelloReply(new ReadOnlySequence<byte>(reply));
            return client;
        }
        catch
        {
            await client.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>The node's status.</summary>
    public async Task<RayletStatusReport> GetStatusAsync(CancellationToken cancellationToken = default)
    {
        var reply = await RequestAsync(ClusterMessageKind.Status, [], cancellationToken).ConfigureAwait(false);
        return ClusterCodec.DecodeStatus(new ReadOnlySequence<byte>(reply));
    }

    /// <summary>Asks the raylet to stop gracefully; returns when it has acknowledged.</summary>
    public async Task ShutdownAsync(CancellationToken cancellationToken = default) =>
        await RequestAsync(ClusterMessageKind.Shutdown, [], cancellationToken).ConfigureAwait(false);

    /// <summary>Registers this connection's job (a driver's first message after Hello).</summary>
    internal async Task<JobAccepted> RegisterJobAsync(JobRegistration job, CancellationToken cancellationToken = default)
    {
        var reply = await RequestAsync(ClusterMessageKind.RegisterJob, ClusterCodec.EncodeRegisterJob(job), cancellationToken).ConfigureAwait(false);
        return ClusterCodec.DecodeJobAccepted(new ReadOnlySequence<byte>(reply));
    }

    /// <summary>Asks for a worker lease; waits up to <paramref name="timeout"/> (default the client's) for the grant.</summary>
    internal async Task<LeaseGrant> RequestLeaseAsync(LeasePurpose purpose, IReadOnlyList<ResourceAmount> request, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        var reply = await RequestAsync(ClusterMessageKind.RequestLease, ClusterCodec.EncodeRequestLease(purpose, request), cancellationToken, timeout).ConfigureAwait(false);
        return ClusterCodec.DecodeLeaseGrant(new ReadOnlySequence<byte>(reply));
    }

    /// <summary>Gives a lease back (acknowledged).</summary>
    internal async Task ReturnLeaseAsync(ulong leaseId, bool workerBroken = false, CancellationToken cancellationToken = default) =>
        await RequestAsync(ClusterMessageKind.ReturnLease, ClusterCodec.EncodeReturnLease(leaseId, workerBroken), cancellationToken).ConfigureAwait(false);

    /// <summary>Registers this connection as a worker process of a job (what a worker does after Hello).</summary>
    internal async Task RegisterWorkerAsync(WorkerRegistration worker, CancellationToken cancellationToken = default) =>
        await RequestAsync(ClusterMessageKind.RegisterWorker, ClusterCodec.EncodeRegisterWorker(worker), cancellationToken).ConfigureAwait(false);

    /// <summary>Registers this connection as a raylet joining the cluster (sent to the head).</summary>
    internal async Task RegisterNodeAsync(NodeStatus node, CancellationToken cancellationToken = default) =>
        await RequestAsync(ClusterMessageKind.RegisterNode, ClusterCodec.EncodeNode(node), cancellationToken).ConfigureAwait(false);

    /// <summary>One-way: a joined node's heartbeat. False when the connection is closed.</summary>
    internal bool SendNodeHeartbeat(NodeStatus node) =>
        _connection.Send((ushort)ClusterMessageKind.NodeHeartbeat, FrameFlags.NoReply, 0, ClusterCodec.EncodeNode(node));

    /// <summary>Sends a request and returns the reply's payload.</summary>
    /// <exception cref="RayletException">An error reply, or the connection closed first.</exception>
    /// <exception cref="TimeoutException">No reply within <paramref name="timeout"/> (default the client's).</exception>
    private async Task<byte[]> RequestAsync(ClusterMessageKind kind, byte[] payload, CancellationToken cancellationToken, TimeSpan? timeout = null)
    {
        var limit = timeout ?? _timeout;
        var (id, reply) = _replies.Add();
        try
        {
            if (!_connection.Send((ushort)kind, FrameFlags.None, id, payload)) throw Closed(_connection.CloseReason ?? "closing");
            (FrameFlags flags, byte[] reply) result;
            try { result = await reply.WaitAsync(limit, cancellationToken).ConfigureAwait(false); }
            catch (TimeoutException)
            {
                throw new TimeoutException($"no reply to {kind} (request {id}) from the raylet at {Address} within {limit.TotalSeconds:0.#} s; receive loop: {_connection.Status}");
            }
            if ((result.flags & FrameFlags.Error) != 0)
            {
                var (code, message) = ClusterCodec.DecodeError(new ReadOnlySequence<byte>(result.reply), (ushort)kind);
                throw new RayletException(code, message);
            }
            return result.reply;
        }
        finally { _replies.Forget(id); }
    }

    private void OnFrame(in Frame frame)
    {
        var h = frame.Header;
        if ((h.Flags & FrameFlags.Reply) == 0)
            throw new ProtocolException($"the raylet sent a request (kind {h.Kind}); this client takes replies only");
        _replies.Complete(h.RequestId, (h.Flags, frame.Payload.ToArray())); // false: it timed out and was forgotten
    }

    private RayletException Closed(string reason) =>
        new(ClusterErrorCode.Unknown, $"the connection to the raylet at {Address} is closed: {reason}");

    /// <summary>Closes the connection; requests in flight fail. Idempotent.</summary>
    public async ValueTask DisposeAsync()
    {
        await _connection.CloseAsync("closed locally").ConfigureAwait(false);
        try { await _connection.Completion.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false); }
        catch (TimeoutException) { /* the socket is shut down; its loop ends on its own */ }
    }

    /// <summary>The client's socket: replies go to the table, a close fails every request.</summary>
    private sealed class Connection(RayletClient owner, Socket socket) : FramedConnection(socket, ClusterProtocol.MaxPayload)
    {
        protected override void OnFrame(in Frame frame) => owner.OnFrame(frame);

        protected override void OnClosed(string reason) => owner._replies.FailAll(() => owner.Closed(reason));
    }
}
