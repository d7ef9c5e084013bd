using Ray.Contract.Session;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Ray.Plasma.Server;
using Ray.Plasma.Store;
using Ray.Raylet.Leases;
using Ray.Contract.Messages;
using Ray.Raylet.Server;
using Ray.Raylet.Session;
using Ray.Raylet.Workers;

namespace Ray.Raylet.Node;

/// <summary>
/// The raylet of one node: owns the node's object store, its resource table, its jobs, worker
/// processes and leases (<see cref="LeaseManager"/>), its socket server, and the address file
/// that lets others find it.
///
/// Lifecycle:
/// 1. Generate the node id and the cluster token (128 random bits, hex).
/// 2. Create the Plasma store (arena under /dev/shm) and serve it on the session's Unix socket.
/// 3. Bind the TCP port, create the lease manager (workers register at that address), start
///    accepting: drivers register jobs and lease workers; the raylet starts worker processes
///    (`ray worker`, hidden) that register back on the same port.
/// 4. Write the address file: from now on the node can be found and joined.
/// 5. Serve until a Shutdown message, SIGTERM or SIGINT (<see cref="RequestShutdown"/>).
/// 6. Stop: stop accepting and close connections (queued replies flushed; each driver's close
///    ends its job and kills its workers), kill any worker left and wait for it, stop the store
///    server, free the store, remove the address file and socket.
/// </summary>
public sealed partial class NodeManager : IAsyncDisposable, IRayletHost
{
    private readonly ILogger _logger;
    private readonly TaskCompletionSource<string> _shutdown = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Stopwatch _uptime = Stopwatch.StartNew();
    private readonly SessionLayout _session;
    private readonly HelloReply _hello;
    private PlasmaServer? _plasmaServer;
    private RayletServer? _server;
    private LeaseManager? _leases;
    private ChurnMemoryTrim? _trim;
    private SessionLock? _sessionLock;
    private int _disposed;

    private NodeManager(RayletOptions options, SessionLayout session, NodeResources resources, PlasmaStore store, ILogger logger)
    {
        Options = options;
        _session = session;
        Resources = resources;
        Store = store;
        _logger = logger;
        NodeId = NodeId.NewRandom();
        ClusterToken = options.ClusterToken ?? RandomNumberGenerator.GetHexString(32, lowercase: true);
        PlasmaSocketPath = ChoosePlasmaSocket(session, NodeId);
        _hello = new HelloReply(ClusterProtocol.Version, NodeId.ToString(), PlasmaSocketPath, store.Arena.Path);
    }

    /// <summary>The options the node runs with.</summary>
    public RayletOptions Options { get; }

    /// <summary>The node's id.</summary>
    public NodeId NodeId { get; }

    /// <summary>The token peers present in Hello.</summary>
    public string ClusterToken { get; }

    /// <summary>The node's resource table.</summary>
    public NodeResources Resources { get; }

    /// <summary>The node's shared-memory object store.</summary>
    public PlasmaStore Store { get; }

    /// <summary>The object store's Unix socket.</summary>
    public string PlasmaSocketPath { get; }

    /// <summary>The TCP address peers connect to.</summary>
    public IPEndPoint EndPoint => _server?.LocalEndPoint ?? throw new InvalidOperationException("the raylet is not listening");

    /// <summary>host:port of <see cref="EndPoint"/> ([v6]:port for IPv6).</summary>
    public string Address => EndPoint.ToString();

    /// <summary>Completes with the reason once a shutdown was requested.</summary>
    public Task<string> ShutdownRequested => _shutdown.Task;

    HelloReply IRayletHost.HelloReply => _hello;

    /// <summary>The node's jobs, workers and leases.</summary>
    internal LeaseManager Leases => _leases ?? throw new InvalidOperationException("the raylet is not started");

    LeaseManager IRayletHost.Leases => Leases;

    // The cluster's node table (head only), and a joined node's link to its head.
    private Gcs.NodeTable? _nodes;
    private Gcs.HeadLink? _head;
    private Timer? _sweep;

    Gcs.NodeTable? IRayletHost.Nodes => _nodes;

    /// <summary>
    /// Starts a node: store, store server, TCP server, address file (steps 1-4 above).
    /// </summary>
    /// <exception cref="ArgumentException">Bad options (resources, object store size).</exception>
    /// <exception cref="IOException">The port cannot be bound, or the store cannot be created.</exception>
    /// <exception cref="SessionAccessException">The session directory belongs to another user or others may write to it.</exception>
    public static NodeManager Start(RayletOptions options, ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        var logger = loggerFactory.CreateLogger<NodeManager>();
        var session = new SessionLayout(options.SessionDir).EnsureCreated();
        // Held for the raylet's life: a second raylet in this session, or a `ray start` cleaning up
        // after a dead one, sees it and leaves this one's sockets and arena alone.
        var sessionLock = SessionLock.TryAcquire(session)
            ?? throw new IOException($"another raylet is running or starting in session {session.Directory} (it holds {SessionLock.PathOf(session)})");
        try { return Start(options, loggerFactory, logger, session, sessionLock); }
        catch
        {
            sessionLock.Dispose();
            throw;
        }
    }

    private static NodeManager Start(RayletOptions options, ILoggerFactory loggerFactory, ILogger logger, SessionLayout session, SessionLock sessionLock)
    {
        var host = IPAddress.TryParse(options.Host, out var ip) ? ip : throw new ArgumentException($"--node-ip-address '{options.Host}' is not an IP address");
        if (options.Port is < 0 or > 65535) throw new ArgumentException($"--port {options.Port} is outside 0..65535");
        var storeBytes = ResolveObjectStoreBytes(options);
        var memoryBytes = Math.Max(0, (long)(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes * 0.7) - storeBytes);
        var resources = NodeResources.Create(options.NumCpus, options.NumGpus, options.Resources, memoryBytes, storeBytes);

        // The arena is named after the session so a leftover file says whose it was.
        var store = new PlasmaStore(new PlasmaStoreOptions
        {
            Directory = options.ObjectStoreDirectory,
            CapacityBytes = storeBytes,
            SpillDirectory = session.SpillDirectory,
            Name = $"ray-raylet-{Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}-{Guid.NewGuid():N}",
            // Faulting every page in first would hold up start-up by seconds per GiB here.
            Prefault = PrefaultMode.Background,
        }, loggerFactory.CreateLogger<PlasmaStore>());
        var node = new NodeManager(options, session, resources, store, logger);
        node._sessionLock = sessionLock;
        try
        {
            node._plasmaServer = new PlasmaServer(store, node.PlasmaSocketPath, loggerFactory.CreateLogger<PlasmaServer>(), options.StoreServer).Start();
            var endpoint = new IPEndPoint(host, options.Port);
            try { node._server = new RayletServer(node, endpoint, options.Server, loggerFactory.CreateLogger<RayletServer>()); }
            catch (System.Net.Sockets.SocketException e) { throw new IOException($"cannot listen on {endpoint}: {e.Message}", e); }
            node._leases = new LeaseManager(resources, options.WorkerLauncher ?? new WorkerProcessLauncher(), new LeaseManagerOptions
            {
                RayletAddress = WorkerFacingAddress(node._server.LocalEndPoint),
                Token = node.ClusterToken,
                NodeId = node.NodeId.ToString(),
                SessionDir = session.Directory,
                LogsDirectory = session.LogsDirectory,
                PlasmaSocket = node.PlasmaSocketPath,
                PrestartWorkers = options.PrestartWorkers,
                MaxWorkers = options.MaxWorkers,
                IdleWorkerTimeout = options.IdleWorkerTimeout,
            }, loggerFactory.CreateLogger<LeaseManager>());
            // A job's objects in the node's store are owned by its driver and workers, whose owner
            // ids this raylet handed out and the job records: when the job ends, nobody can free
            // them any more. No id is decoded.
            node._leases.JobEnded += job =>
            {
                HashSet<ulong> owners;
                lock (job.Owners) owners = [.. job.Owners];
                var freed = store.DeleteWhere(id => owners.Contains(id.Owner));
                if (freed > 0) Log.JobObjectsFreed(logger, job.Id, freed);
            };
            node._leases.OwnerEnded += owner =>
            {
                var freed = store.DeleteWhere(id => id.Owner == owner);
                if (freed > 0) Log.JobObjectsFreed(logger, 0, freed);
            };
            if (options.IsHead)
            {
                node._nodes = new Gcs.NodeTable(options.NodeTimeout, node.Self);
                var sweepEvery = TimeSpan.FromTicks(Math.Max(TimeSpan.TicksPerMillisecond * 50, options.NodeTimeout.Ticks / 4));
                node._sweep = new Timer(_ =>
                {
                    foreach (var dead in node._nodes.Sweep())
                        logger.LogWarning("node {Node} sent no heartbeat for {Timeout} s: marked dead", dead, options.NodeTimeout.TotalSeconds);
                }, null, sweepEvery, sweepEvery);
            }
            node._server.Start();
            if (options.HeadAddress is { } headAddress)
            {
                // Start-up (justified): a node that cannot join its head fails to start, with the reason.
                try { node._head = Gcs.HeadLink.JoinAsync(headAddress, node.ClusterToken, node.Self, logger, CancellationToken.None).GetAwaiter().GetResult(); }
                catch (Exception e) when (e is Ray.Raylet.Client.RayletException or TimeoutException or IOException or System.Net.Sockets.SocketException)
                {
                    throw new IOException($"cannot join the head at {headAddress}: {e.Message}", e);
                }
                logger.LogInformation("joined the cluster of the head at {Head}", headAddress);
            }
            var (rayletServer, storeServer) = (node._server, node._plasmaServer);
            node._trim = new ChurnMemoryTrim(() => rayletServer.RejectedCount + storeServer.ClosedCount, logger);
            AddressFile.Write(session.AddressFile, node.AddressInfo());
            Log.Started(logger, node.NodeId.ToString(), node.Address, session.Directory, node.PlasmaSocketPath, store.Arena.Path, store.Arena.Capacity, resources.Snapshot().Count);
            return node;
        }
        catch
        {
            // Sync-over-async, justified: this is the start-up failure path of a synchronous Start,
            // not a runtime path. It runs once, before any connection is served, on the caller's
            // thread (the raylet is a console process: no synchronization context for the disposal's
            // awaits to need), and the half-built node must be torn down before the error propagates.
            node.DisposeAsync().AsTask().GetAwaiter().GetResult();
            throw;
        }
    }

    /// <summary>What the address file holds for this node.</summary>
    public RayletAddressInfo AddressInfo() => new()
    {
        Address = Address,
        Token = ClusterToken,
        Pid = Environment.ProcessId,
        NodeId = NodeId.ToString(),
        SessionDir = _session.Directory,
        PlasmaSocket = PlasmaSocketPath,
        ObjectStorePath = Store.Arena.Path,
        LogFile = _session.RayletLog,
        ProtocolVersion = ClusterProtocol.Version,
        StartedAt = DateTime.UtcNow,
    };

    /// <summary>Asks the node to stop; <see cref="ShutdownRequested"/> completes. Returns at once.</summary>
    public void RequestShutdown(string reason)
    {
        if (_shutdown.TrySetResult(reason)) Log.ShutdownRequested(_logger, reason);
    }

    /// <summary>The node's status now: this node, its resources, connections and objects.</summary>
    public RayletStatusReport GetStatus()
    {
        var stats = Store.Stats;
        var pool = _leases?.Counts() ?? default;
        return new RayletStatusReport
        {
            SessionDir = _session.Directory,
            Uptime = _uptime.Elapsed,
            Nodes = _nodes?.Snapshot() ?? [Self()],
            Workers = pool.Workers,
            IdleWorkers = pool.IdleWorkers,
            QueuedTasks = pool.QueuedLeases,
            Jobs = pool.Jobs,
            Leases = pool.Leases,
            Clients = _server?.AuthenticatedCount ?? 0,
            Objects = stats.Objects,
            ObjectStoreUsedBytes = stats.UsedBytes,
            ObjectStoreCapacityBytes = stats.CapacityBytes,
            SpilledBytes = stats.SpilledBytes,
            PlacementGroups = _leases?.PlacementGroupTable() ?? [],
        };
    }

    /// <summary>This node as the head's node table lists it.</summary>
    internal NodeStatus Self() => new(NodeId.ToString(), Address, Options.IsHead, Alive: true, Resources.Snapshot());

    /// <summary>Stops the node (step 6): connections, store server, store, address file.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        RequestShutdown("disposed");
        _trim?.Dispose();
        if (_sweep is not null) await _sweep.DisposeAsync().ConfigureAwait(false);
        if (_head is not null)
        {
            try { await _head.DisposeAsync().ConfigureAwait(false); }
            catch (Exception e) { Log.StopStepFailed(_logger, "link to the head", e); }
        }
        if (_server is not null)
        {
            try { await _server.DisposeAsync().ConfigureAwait(false); }
            catch (Exception e) { Log.StopStepFailed(_logger, "socket server", e); }
        }
        if (_leases is not null)
        {
            try { await _leases.DisposeAsync().ConfigureAwait(false); }
            catch (Exception e) { Log.StopStepFailed(_logger, "worker pool", e); }
        }
        if (_plasmaServer is not null)
        {
            try { await _plasmaServer.DisposeAsync().ConfigureAwait(false); }
            catch (Exception e) { Log.StopStepFailed(_logger, "object store server", e); }
        }
        try { Store.Dispose(); }
        catch (Exception e) { Log.StopStepFailed(_logger, "object store", e); }
        // Remove the address file only while it is still ours (a newer raylet may have replaced it).
        try
        {
            if (AddressFile.TryRead(_session.AddressFile) is { } info && info.Pid == Environment.ProcessId && info.NodeId == NodeId.ToString())
                AddressFile.Delete(_session.AddressFile);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException) { Log.StopStepFailed(_logger, "address file", e); }
        _sessionLock?.Dispose(); // last: until now this session's files were ours
        Log.Stopped(_logger, NodeId.ToString());
    }

    string IRayletHost.ClusterToken => ClusterToken;

    RayletStatusReport IRayletHost.GetStatus() => GetStatus();

    void IRayletHost.RequestShutdown(string reason) => RequestShutdown(reason);

    /// <summary>The store's capacity: asked for, or 30 % of memory capped at 90 % of the store directory's free space.</summary>
    internal static long ResolveObjectStoreBytes(RayletOptions options)
    {
        if (options.ObjectStoreMemoryBytes is { } asked)
        {
            if (asked < RayletOptions.MinObjectStoreBytes)
                throw new ArgumentException($"--object-store-memory {asked} is below the minimum of {RayletOptions.MinObjectStoreBytes} bytes");
            return asked;
        }
        var bytes = (long)(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes * 0.3);
        try
        {
            var free = new DriveInfo(options.ObjectStoreDirectory).AvailableFreeSpace;
            if (free > 0) bytes = Math.Min(bytes, (long)(free * 0.9));
        }
        catch (Exception e) when (e is IOException or ArgumentException or UnauthorizedAccessException) { }
        return Math.Max(bytes, RayletOptions.MinObjectStoreBytes);
    }

    /// <summary>Where workers on this node reach the raylet: the bound address, loopback when it listens on any address.</summary>
    private static string WorkerFacingAddress(IPEndPoint bound)
    {
        if (bound.Address.Equals(IPAddress.Any)) return new IPEndPoint(IPAddress.Loopback, bound.Port).ToString();
        if (bound.Address.Equals(IPAddress.IPv6Any)) return new IPEndPoint(IPAddress.IPv6Loopback, bound.Port).ToString();
        return bound.ToString();
    }

    /// <summary>
    /// The session's plasma_store socket, unless its path is too long for a Unix socket
    /// (108 bytes with the terminator); then a short one under /tmp.
    /// </summary>
    private static string ChoosePlasmaSocket(SessionLayout session, NodeId node)
    {
        var path = session.PlasmaSocket;
        if (Encoding.UTF8.GetByteCount(path) <= 100) return path;
        return Path.Combine(Path.GetTempPath(), $"ray-plasma-{node.Short}.sock");
    }
}
