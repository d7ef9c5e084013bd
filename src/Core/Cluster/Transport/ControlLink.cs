using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Ray.Cluster.Wire;
using Ray.Protocol;

namespace Ray.Cluster.Transport;

/// <summary>
/// A control connection to a raylet (from a driver or a worker): Hello with the cluster token,
/// then requests matched to replies by id. Replies may come much later (a lease waits for a
/// worker), so requests are asynchronous. Not on the per-task path.
/// </summary>
internal sealed class ControlLink : FramedConnection
{
    internal new const int MaxPayload = 1 << 20;

    private readonly ReplyTable<byte[]> _replies = new();

    private ControlLink(Socket socket, string address) : base(socket, MaxPayload, ReceiveDriver.Thread(TimeSpan.Zero, "ray-control"))
    {
        Address = address;
        StartReceiving();
    }

    internal string Address { get; }

    /// <summary>Set when the link closes, with the reason.</summary>
    internal event Action<string>? Closed;

    /// <summary>Connects to host:port and says Hello; returns the link and the raylet's Hello reply fields.</summary>
    /// <exception cref="RayClusterException">No raylet there, or it refused the token.</exception>
    internal static async Task<(ControlLink Link, string NodeId, string PlasmaSocket)> ConnectAsync(string address, string token, TimeSpan timeout, bool requireToken = true)
    {
        var endpoint = ParseEndpoint(address);
        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using (var cts = new CancellationTokenSource(timeout))
        {
            try { await socket.ConnectAsync(endpoint, cts.Token).ConfigureAwait(false); }
            catch (Exception e) when (e is SocketException or OperationCanceledException)
            {
                socket.Dispose();
                throw new RayClusterException($"cannot connect to the raylet at {address}: {e.Message} (is it running? `ray start --head` starts one)", e);
            }
        }
        var link = new ControlLink(socket, address);
        if (!requireToken)
        {
            link.Dispose();
            throw new RayClusterException($"a raylet answers at {address}, but there is no cluster token for it: set {SessionPaths.TokenVariable} (the token is in the raylet's address file, raylet.json)");
        }
        try
        {
            var reply = await link.RequestAsync((ushort)ClusterMessageKind.Hello, ClusterCodec.EncodeHello(ClusterProtocol.Version, token), timeout).ConfigureAwait(false);
            var hello = ClusterCodec.DecodeHelloReply(new ReadOnlySequence<byte>(reply));
            return (link, hello.NodeId, hello.PlasmaSocketPath);
        }
        catch
        {
            link.Dispose();
            throw;
        }
    }

    internal static IPEndPoint ParseEndpoint(string address)
    {
        if (IPEndPoint.TryParse(address, out var ep) && ep.Port != 0) return ep;
        var colon = address.LastIndexOf(':');
        if (colon > 0 && int.TryParse(address.AsSpan(colon + 1), out var port) && port is > 0 and <= 65535)
        {
            var host = address[..colon];
            IPAddress[] ips;
            try { ips = Dns.GetHostAddresses(host == "localhost" ? "127.0.0.1" : host); }
            catch (Exception e) when (e is SocketException or ArgumentException) { throw new RayClusterException($"cannot resolve the raylet host '{host}': {e.Message}", e); }
            if (ips.Length > 0) return new IPEndPoint(ips[0], port);
        }
        throw new RayClusterException($"'{address}' is not a raylet address (host:port)");
    }

    /// <summary>Sends a request and waits for its reply's payload.</summary>
    /// <exception cref="RayClusterException">An error reply, the link closed, or no reply in time.</exception>
    internal async Task<byte[]> RequestAsync(ushort kind, byte[] payload, TimeSpan timeout)
    {
        var (id, reply) = _replies.Add();
        try
        {
            if (CloseReason is { } why) throw new RayClusterException($"the connection to the raylet at {Address} is closed: {why}");
            Append(kind, FrameFlags.None, id, payload, static (w, p) => w.Raw(p));
            Flush();
            try { return await reply.WaitAsync(timeout).ConfigureAwait(false); }
            catch (TimeoutException) { throw new RayClusterException($"no reply to message kind {kind} from the raylet at {Address} within {timeout.TotalSeconds:0.#} s"); }
        }
        finally { _replies.Forget(id); }
    }

    /// <summary>Handles one-way messages the raylet pushes (a worker's link: CancelTask); without it they are protocol errors.</summary>
    internal Action<ushort, System.Buffers.ReadOnlySequence<byte>>? Pushed { get; set; }

    /// <summary>
    /// Sends a request and blocks this thread until its reply (for blocking public calls): the
    /// receive thread wakes it directly, without the thread-pool hop of an awaited
    /// <see cref="RequestAsync"/> (a control round trip several times the loopback floor otherwise).
    /// </summary>
    /// <exception cref="RayClusterException">An error reply, the link closed, or no reply in time.</exception>
    internal byte[] Request(ushort kind, byte[] payload, TimeSpan timeout)
    {
        var (id, reply) = _replies.Add();
        try
        {
            if (CloseReason is { } why) throw new RayClusterException($"the connection to the raylet at {Address} is closed: {why}");
            Append(kind, FrameFlags.None, id, payload, static (w, p) => w.Raw(p));
            Flush();
            try
            {
                if (!reply.Wait(timeout)) throw new RayClusterException($"no reply to message kind {kind} from the raylet at {Address} within {timeout.TotalSeconds:0.#} s");
            }
            catch (AggregateException e) when (e.InnerException is { } inner)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(inner);
            }
            return reply.Result;
        }
        finally { _replies.Forget(id); }
    }

    /// <summary>Sends a one-way message.</summary>
    internal void Send(ushort kind, byte[] payload)
    {
        Append(kind, FrameFlags.NoReply, 0, payload, static (w, p) => w.Raw(p));
        Flush();
    }

    protected override void OnFrame(in Frame frame)
    {
        var h = frame.Header;
        if ((h.Flags & FrameFlags.Reply) == 0)
        {
            // A worker's registration link also takes the raylet's one-way pushes (CancelTask).
            if ((h.Flags & FrameFlags.NoReply) != 0 && Pushed is { } pushed)
            {
                pushed(h.Kind, frame.Payload);
                return;
            }
            throw new ProtocolException($"the raylet sent a request (kind {h.Kind}); this link takes replies only");
        }
        // A reply to a request that timed out and was forgotten finds nothing: dropped.
        if ((h.Flags & FrameFlags.Error) != 0)
        {
            var (code, message) = ClusterCodec.DecodeError(frame.Payload, h.Kind);
            _replies.Fail(h.RequestId, new RayClusterException(message) { WireCode = code });
        }
        else _replies.Complete(h.RequestId, frame.Payload.ToArray());
    }

    protected override void OnClosed(string reason)
    {
        _replies.FailAll(() => new RayClusterException($"the connection to the raylet at {Address} closed: {reason}"));
        Closed?.Invoke(reason);
    }
}
