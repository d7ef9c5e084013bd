using Ray.Contract.Ids;
using System.Security.Cryptography;
using System.Text;
using Ray.Contract.Messages;
using Ray.Protocol;
using Ray.Raylet.Jobs;
using Ray.Raylet.Leases;
using Ray.Raylet.Workers;

namespace Ray.Raylet.Server;

/// <summary>
/// One connection's side of the raylet protocol, without the socket: the handshake state and the
/// dispatch of each request to the host. Tests and the fuzzer drive it with parsed frames.
///
/// 1. Until a Hello with this protocol version and the cluster token succeeds, nothing else is
///    accepted.
/// 2. Afterwards: Status, Shutdown, and the cluster messages: a driver's RegisterJob (once; the
///    connection is then the job's), RequestLease and ReturnLease; or a worker's RegisterWorker
///    (once; the connection is then the worker's life line). Lease grants are sent later by the
///    <see cref="LeaseManager"/> through the same sink, from whichever thread grants them.
/// 3. A malformed or refused request answers with an error reply (even to a one-way request)
///    and then throws <see cref="ProtocolException"/>, which closes the connection; the raylet
///    goes on serving every other connection. Lease messages before RegisterJob (NoJob) and a
///    second RegisterJob get an error reply and keep the connection. A failure inside the host
///    answers with an Internal error and keeps the connection.
/// 4. <see cref="OnClosed"/>: a driver's connection closing ends its job; a worker's, the worker.
/// </summary>
/// <param name="host">The node served.</param>
/// <param name="sink">Where replies go.</param>
/// <param name="peer">The peer, for messages.</param>
/// <param name="admit">
/// Asked once a Hello's version and token are right: null admits the connection, a message
/// refuses it (TooManyConnections). Null (tests): every valid Hello is admitted.
/// </param>
internal sealed class RayletRequestHandler(IRayletHost host, IFrameSink sink, string peer, Func<string?>? admit = null)
{
    private readonly byte[] _expectedToken = Encoding.UTF8.GetBytes(host.ClusterToken);
    private readonly object _stateLock = new();
    private JobRecord? _job;        // set once by RegisterJob
    private WorkerRecord? _worker;  // set once by RegisterWorker
    private bool _closed;

    /// <summary>True once Hello succeeded.</summary>
    public bool IsAuthenticated { get; private set; }

    /// <summary>The code of the refusal that is closing this connection, if a request was refused.</summary>
    public ClusterErrorCode? Refusal { get; private set; }

    /// <summary>The peer, for messages (address or a test name).</summary>
    public string Peer { get; } = peer;

    /// <summary>Handles one request.</summary>
    /// <exception cref="ProtocolException">The request was refused or malformed; an error reply was queued; close the connection.</exception>
    public void Handle(in Frame frame)
    {
        var h = frame.Header;
        ClusterErrorCode code;
        string message;
        try
        {
            HandleCore(frame);
            return;
        }
        catch (RefusedException e) { (code, message) = (e.Code, e.Message); }
        catch (ProtocolException e) { (code, message) = (ClusterErrorCode.ProtocolError, e.Message); }
        catch (HostFailedException e)
        {
            // The host failed (e.g. the store is going away during shutdown): the request was
            // well formed, so the connection stays.
            sink.Send(h.Kind, FrameFlags.Reply | FrameFlags.Error, h.RequestId, ClusterCodec.EncodeError(ClusterErrorCode.Internal, e.Message));
            return;
        }
        Refusal = code;
        sink.Send(h.Kind, FrameFlags.Reply | FrameFlags.Error, h.RequestId, ClusterCodec.EncodeError(code, message));
        throw new ProtocolException(message);
    }

    private void HandleCore(in Frame frame)
    {
        var h = frame.Header;
        if ((h.Flags & (FrameFlags.Reply | FrameFlags.Error)) != 0)
            throw new ProtocolException($"{Peer} sent a frame with flags {h.Flags} (kind {h.Kind}); requests carry neither Reply nor Error");
        var oneWay = (h.Flags & FrameFlags.NoReply) != 0;
        var kind = (ClusterMessageKind)h.Kind;
        if (!IsAuthenticated && kind != ClusterMessageKind.Hello)
            throw new RefusedException(ClusterErrorCode.ProtocolError, $"{Peer} sent message kind {h.Kind} before Hello; Hello with the cluster token comes first");
        switch (kind)
        {
            case ClusterMessageKind.Hello:
            {
                if (IsAuthenticated) throw new ProtocolException($"{Peer} sent a second Hello");
                if (oneWay) throw new ProtocolException($"{Peer} sent Hello one-way; it needs a reply");
                var (version, token) = ClusterCodec.DecodeHello(frame.Payload);
                if (version != ClusterProtocol.Version)
                    throw new RefusedException(ClusterErrorCode.VersionMismatch, $"{Peer} speaks raylet protocol version {version}; this raylet speaks version {ClusterProtocol.Version}");
                if (!TokenMatches(token))
                    throw new RefusedException(ClusterErrorCode.Unauthenticated, $"refused {Peer}: wrong cluster token (find it in the raylet's address file, or set RAY_CLUSTER_TOKEN)");
                if (admit?.Invoke() is { } refusal)
                    throw new RefusedException(ClusterErrorCode.TooManyConnections, $"refused {Peer}: {refusal}");
                IsAuthenticated = true;
                Reply(h, CallHost(h, static host => ClusterCodec.EncodeHelloReply(host.HelloReply)));
                break;
            }
            case ClusterMessageKind.Status:
                ExpectEmpty(frame);
                if (oneWay) throw new ProtocolException($"{Peer} sent Status one-way; it needs a reply");
                Reply(h, CallHost(h, static host => ClusterCodec.EncodeStatus(host.GetStatus())));
                break;
            case ClusterMessageKind.Shutdown:
                ExpectEmpty(frame);
                // The acknowledgement goes first: the shutdown closes this connection, and `ray stop`
                // reads the ack as "stopping gracefully".
                if (!oneWay) Reply(h, []);
                host.RequestShutdown($"Shutdown message from {Peer}");
                break;
            case ClusterMessageKind.RegisterJob:
                HandleRegisterJob(frame, oneWay);
                break;
            case ClusterMessageKind.RequestLease:
            {
                if (oneWay) throw new ProtocolException($"{Peer} sent RequestLease one-way; it needs a reply");
                var (purpose, request, placement) = ClusterCodec.DecodeRequestLease(frame.Payload);
                if (Volatile.Read(ref _job) is not { } job)
                {
                    ReplyError(h, ClusterErrorCode.NoJob, $"{Peer} asked for a lease before RegisterJob");
                    break;
                }
                Guard(h, () => host.Leases.RequestLease(job, h.RequestId, purpose, request, placement));
                break;
            }
            case ClusterMessageKind.CreatePlacementGroup:
            {
                if (oneWay) throw new ProtocolException($"{Peer} sent CreatePlacementGroup one-way; it needs a reply");
                var spec = ClusterCodec.DecodeCreatePlacementGroup(frame.Payload);
                if (Volatile.Read(ref _job) is not { } job)
                {
                    ReplyError(h, ClusterErrorCode.NoJob, $"{Peer} created a placement group before RegisterJob");
                    break;
                }
                Guard(h, () => host.Leases.CreatePlacementGroup(job, sink, h.RequestId, spec));
                break;
            }
            case ClusterMessageKind.RemovePlacementGroup:
            {
                var (owner, seq) = ClusterCodec.DecodePlacementGroupId(frame.Payload, kind);
                Guard(h, () => host.Leases.RemovePlacementGroup(owner, seq, $"removed by {Peer}"));
                if (!oneWay) Reply(h, []);
                break;
            }
            case ClusterMessageKind.WaitPlacementGroup:
            {
                if (oneWay) throw new ProtocolException($"{Peer} sent WaitPlacementGroup one-way; it needs a reply");
                var (owner, seq) = ClusterCodec.DecodePlacementGroupId(frame.Payload, kind);
                Guard(h, () => host.Leases.WaitPlacementGroup(sink, h.RequestId, owner, seq));
                break;
            }
            case ClusterMessageKind.RegisterActorName:
            {
                if (oneWay) throw new ProtocolException($"{Peer} sent RegisterActorName one-way; it needs a reply");
                var (ns, name, type, detached) = ClusterCodec.DecodeRegisterActorName(frame.Payload);
                if (Volatile.Read(ref _job) is not { } job)
                {
                    ReplyError(h, ClusterErrorCode.NoJob, $"{Peer} named an actor before RegisterJob");
                    break;
                }
                Guard(h, () => host.Leases.RegisterActorName(job, sink, h.RequestId, ns, name, type, detached));
                break;
            }
            case ClusterMessageKind.SetActorAddress:
            {
                var (ns, name, address, workerId) = ClusterCodec.DecodeSetActorAddress(frame.Payload);
                if (Volatile.Read(ref _job) is { } job) Guard(h, () => host.Leases.SetActorAddress(job, ns, name, address, workerId));
                if (!oneWay) Reply(h, []);
                break;
            }
            case ClusterMessageKind.LookupActorName:
            {
                if (oneWay) throw new ProtocolException($"{Peer} sent LookupActorName one-way; it needs a reply");
                var (ns, name) = ClusterCodec.DecodeLookupActorName(frame.Payload);
                Guard(h, () => host.Leases.LookupActorName(sink, h.RequestId, ns, name));
                break;
            }
            case ClusterMessageKind.CancelTask:
            {
                var (workerId, owner, seq) = ClusterCodec.DecodeCancelTask(frame.Payload);
                if (Volatile.Read(ref _job) is { } job) Guard(h, () => host.Leases.CancelTask(job, workerId, owner, seq));
                if (!oneWay) Reply(h, []);
                break;
            }
            case ClusterMessageKind.WantObject:
            {
                var (owner, seq) = ClusterCodec.DecodeWantObject(frame.Payload);
                if (Volatile.Read(ref _worker) is not { } requester)
                    throw new RefusedException(ClusterErrorCode.ProtocolError, $"{Peer} sent WantObject; only a worker's registration connection asks for borrowed objects");
                Guard(h, () => host.Leases.WantObject(requester, owner, seq));
                if (!oneWay) Reply(h, []);
                break;
            }
            case ClusterMessageKind.RegisterNode:
            {
                var node = ClusterCodec.DecodeNode(frame.Payload, h.Kind);
                if (oneWay) throw new ProtocolException($"{Peer} sent RegisterNode one-way; it needs a reply");
                if (host.Nodes is not { } nodes)
                    throw new RefusedException(ClusterErrorCode.ProtocolError, $"{Peer} sent RegisterNode to a raylet that is not the head; join the head's address");
                if (Volatile.Read(ref _job) is not null || Volatile.Read(ref _worker) is not null)
                    throw new RefusedException(ClusterErrorCode.ProtocolError, $"{Peer} is a driver's or worker's connection and cannot register a node");
                try { nodes.Register(node, this); }
                catch (InvalidOperationException e) { throw new RefusedException(ClusterErrorCode.ProtocolError, $"refused node {node.NodeId} from {Peer}: {e.Message}"); }
                Reply(h, []);
                break;
            }
            case ClusterMessageKind.NodeHeartbeat:
            {
                var node = ClusterCodec.DecodeNode(frame.Payload, h.Kind);
                if (host.Nodes is not { } nodes || !nodes.Heartbeat(node, this))
                    throw new RefusedException(ClusterErrorCode.ProtocolError, $"{Peer} sent a heartbeat for node {node.NodeId}, which did not register on this connection");
                if (!oneWay) Reply(h, []);
                break;
            }
            case ClusterMessageKind.ActorCreated:
            {
                ExpectEmpty(frame);
                if (Volatile.Read(ref _worker) is not { } created)
                    throw new RefusedException(ClusterErrorCode.ProtocolError, $"{Peer} sent ActorCreated; only a worker's registration connection does");
                Guard(h, () => host.Leases.ActorCreated(created));
                if (!oneWay) Reply(h, []);
                break;
            }
            case ClusterMessageKind.CancelObject:
            {
                var (owner, _, _, _) = ClusterCodec.DecodeCancelObject(frame.Payload);
                if (Volatile.Read(ref _worker) is null)
                    throw new RefusedException(ClusterErrorCode.ProtocolError, $"{Peer} sent CancelObject; only a worker's registration connection cancels borrowed objects");
                var payload = System.Buffers.BuffersExtensions.ToArray(frame.Payload);
                Guard(h, () => host.Leases.CancelObject(owner, payload));
                if (!oneWay) Reply(h, []);
                break;
            }
            case ClusterMessageKind.ObjectValue:
            {
                if (Volatile.Read(ref _job) is not { } owning)
                    throw new RefusedException(ClusterErrorCode.ProtocolError, $"{Peer} sent ObjectValue; only a driver's connection answers for its objects");
                var payload = frame.Payload;
                Guard(h, () => host.Leases.ObjectValue(owning, payload));
                if (!oneWay) Reply(h, []);
                break;
            }
            case ClusterMessageKind.KillActorWorker:
            {
                var workerId = ClusterCodec.DecodeWorkerId(frame.Payload, kind);
                if (Volatile.Read(ref _job) is { } job) Guard(h, () => host.Leases.KillActorWorker(job, workerId));
                if (!oneWay) Reply(h, []);
                break;
            }
            case ClusterMessageKind.PlacementGroupTable:
            {
                var filter = ClusterCodec.DecodePlacementGroupFilter(frame.Payload); // empty: every group
                if (oneWay) throw new ProtocolException($"{Peer} sent PlacementGroupTable one-way; it needs a reply");
                Reply(h, CallHost(h, host => ClusterCodec.EncodePlacementGroupTable(host.Leases.PlacementGroupTable(filter))));
                break;
            }
            case ClusterMessageKind.ReturnLease:
            {
                var (leaseId, broken) = ClusterCodec.DecodeReturnLease(frame.Payload);
                if (Volatile.Read(ref _job) is not { } job)
                {
                    if (!oneWay) ReplyError(h, ClusterErrorCode.NoJob, $"{Peer} returned lease {leaseId} before RegisterJob");
                    break;
                }
                Guard(h, () => host.Leases.ReturnLease(job, leaseId, broken));
                if (!oneWay) Reply(h, []);
                break;
            }
            case ClusterMessageKind.RegisterWorker:
                HandleRegisterWorker(frame, oneWay);
                break;
            case ClusterMessageKind.WorkerBlocked:
            {
                var blocked = ClusterCodec.DecodeWorkerBlocked(frame.Payload);
                if (Volatile.Read(ref _worker) is not { } worker)
                    throw new RefusedException(ClusterErrorCode.ProtocolError, $"{Peer} sent WorkerBlocked but is not a registered worker");
                Guard(h, () => host.Leases.WorkerBlocked(worker, blocked));
                if (!oneWay) Reply(h, []);
                break;
            }
            default:
                throw new ProtocolException($"{Peer} sent unknown message kind {h.Kind}");
        }
    }

    private void HandleRegisterJob(in Frame frame, bool oneWay)
    {
        var h = frame.Header;
        if (oneWay) throw new ProtocolException($"{Peer} sent RegisterJob one-way; it needs a reply");
        var registration = ClusterCodec.DecodeRegisterJob(frame.Payload);
        if (Volatile.Read(ref _worker) is not null)
            throw new RefusedException(ClusterErrorCode.ProtocolError, $"{Peer} is a worker's connection and cannot register a job");
        if (Volatile.Read(ref _job) is { } existing)
        {
            ReplyError(h, ClusterErrorCode.NoJob, $"{Peer} registered job {existing.Id} already; one job per connection");
            return;
        }
        var leases = host.Leases;
        JobRecord job;
        try { job = leases.RegisterJob(registration, sink); }
        catch (ObjectDisposedException) { throw new RefusedException(ClusterErrorCode.ShuttingDown, "the raylet is shutting down and takes no new jobs"); }
        catch (Exception e) { throw new HostFailedException($"the raylet failed to register a job: {e.GetType().Name}: {e.Message}"); }
        // The driver's owner id: this node's tag and the job's number; the job's objects are freed by it.
        var owner = OwnerIds.Driver(OwnerIds.NodeTagOf(host.HelloReply.NodeId), job.Id);
        lock (job.Owners) job.Owners.Add(owner);
        leases.RegisterOwner(owner, job);
        bool closed;
        lock (_stateLock)
        {
            closed = _closed;
            if (!closed) _job = job;
        }
        if (closed)
        {
            leases.EndJob(job, "its connection closed while it registered");
            return;
        }
        Reply(h, ClusterCodec.EncodeJobAccepted(leases.Accepted(job) with { OwnerId = owner }));
    }

    private void HandleRegisterWorker(in Frame frame, bool oneWay)
    {
        var h = frame.Header;
        var registration = ClusterCodec.DecodeRegisterWorker(frame.Payload);
        if (Volatile.Read(ref _job) is { } job)
            throw new RefusedException(ClusterErrorCode.ProtocolError, $"{Peer} is the driver of job {job.Id} and cannot register as a worker");
        if (Volatile.Read(ref _worker) is { } registered)
            throw new RefusedException(ClusterErrorCode.ProtocolError, $"{Peer} registered as {registered} already");
        var leases = host.Leases;
        WorkerRecord worker;
        try { worker = leases.RegisterWorker(registration); }
        catch (WorkerRefusedException e) { throw new RefusedException(e.Code, $"refused {Peer}: {e.Message}"); }
        catch (Exception e) { throw new RefusedException(ClusterErrorCode.Internal, $"the raylet failed to register {Peer} as a worker: {e.GetType().Name}: {e.Message}"); }
        bool closed;
        lock (_stateLock)
        {
            closed = _closed;
            if (!closed)
            {
                _worker = worker;
                worker.Link = sink;
            }
        }
        if (closed)
        {
            leases.WorkerDisconnected(worker, "its connection closed while it registered");
            return;
        }
        if (!oneWay) Reply(h, []);
    }

    /// <summary>
    /// The connection is closing (called once, possibly while a request is being handled on the
    /// receive loop): a driver's job ends, a worker is dead.
    /// </summary>
    public void OnClosed(string reason)
    {
        JobRecord? job;
        WorkerRecord? worker;
        lock (_stateLock)
        {
            if (_closed) return;
            _closed = true;
            (job, worker) = (_job, _worker);
        }
        if (job is not null) host.Leases.EndJob(job, "the driver's connection closed: " + reason);
        if (worker is not null) host.Leases.WorkerDisconnected(worker, reason);
        if (IsAuthenticated)
        {
            host.Leases.ForgetWaiters(sink);
            host.Nodes?.Disconnected(this); // a joined node's connection: the node is dead
        }
    }

    /// <summary>Runs a call into the lease manager; an unexpected failure is the raylet's (Internal, connection kept).</summary>
    private void Guard(FrameHeader request, Action call) => CallHost(request, _ => { call(); return []; });

    private void ReplyError(FrameHeader request, ClusterErrorCode code, string message) =>
        sink.Send(request.Kind, FrameFlags.Reply | FrameFlags.Error, request.RequestId, ClusterCodec.EncodeError(code, message));

    private byte[] CallHost(FrameHeader request, Func<IRayletHost, byte[]> call)
    {
        try { return call(host); }
        catch (Exception e) { throw new HostFailedException($"the raylet failed to handle message kind {request.Kind}: {e.GetType().Name}: {e.Message}"); }
    }

    private void Reply(FrameHeader request, ReadOnlySpan<byte> payload) =>
        sink.Send(request.Kind, FrameFlags.Reply, request.RequestId, payload);

    private static void ExpectEmpty(in Frame frame)
    {
        if (frame.Payload.Length != 0)
            throw new ProtocolException($"message kind {frame.Header.Kind} takes an empty payload, not {frame.Payload.Length} bytes");
    }

    private bool TokenMatches(string token)
    {
        // Constant time in the token's contents; the length is not secret (it is fixed).
        var presented = Encoding.UTF8.GetBytes(token);
        return CryptographicOperations.FixedTimeEquals(presented, _expectedToken);
    }

    /// <summary>The host threw while answering a well-formed request.</summary>
    private sealed class HostFailedException(string message) : Exception(message);

    /// <summary>A well-formed request the raylet refuses with a specific code.</summary>
    private sealed class RefusedException(ClusterErrorCode code, string message) : Exception(message)
    {
        public ClusterErrorCode Code { get; } = code;
    }
}
