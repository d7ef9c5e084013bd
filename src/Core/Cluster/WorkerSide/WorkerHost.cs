using System.Net.Sockets;
using System.Text;
using Ray.Cluster.Transport;
using Ray.Cluster.Wire;
using Ray.Protocol;

namespace Ray.Cluster.WorkerSide;

/// <summary>
/// What the sessions of one worker process share: the actor it holds, if any, the exit signal,
/// and the gate that keeps connections that have not said WorkerHello apart from driver
/// sessions (at most <see cref="ConnectionLimits.MaxPendingHandshakes"/> of them, each closed
/// after the handshake timeout; the oldest goes when a new one comes and the pool is full).
/// </summary>
internal sealed class WorkerHostState : IDisposable
{

    internal WorkerHostState() : this(WorkerHost.DefaultLimits) { }

    internal WorkerHostState(ConnectionLimits limits) =>
        Gate = new HandshakeGate<WorkerSession>(limits, static (session, _, reason) => session.Close(reason), static session => session.HasUnreadInput);

    /// <summary>Pending handshakes and authenticated sessions.</summary>
    internal HandshakeGate<WorkerSession> Gate { get; }

    /// <summary>Stops the handshake sweep.</summary>
    public void Dispose() => Gate.Dispose();

    /// <summary>The actor instance this worker holds (one per worker process, as Ray's dedicated actor workers).</summary>
    internal object? Actor { get; private set; }

    /// <summary>The actor's calls when it allows more than one at a time (shared by every session that calls it).</summary>
    internal Actors.ActorExecutor? ActorExecutor { get; private set; }

    /// <summary>
    /// Held around each call of an actor that runs one call at a time: its owner's session and
    /// sessions of handles passed to other processes call it from their own receive threads.
    /// </summary>
    internal object ActorLock { get; } = new();

    /// <summary>The actor here is detached: its creating session closing does not end it.</summary>
    internal bool ActorOutlivesItsOwner { get; set; }

    /// <summary>The session (driver connection) that created <see cref="Actor"/>.</summary>
    private WorkerSession? _actorOwner;

    internal void SetActor(WorkerSession owner, object instance, Actors.ActorExecutor? executor)
    {
        lock (this)
        {
            Actor = instance;
            ActorExecutor = executor;
            _actorOwner = owner;
        }
    }

    internal string? ExitReason { get; private set; }

    internal void RequestExit(string reason)
    {
        ExitReason ??= reason;
        _exited.TrySetResult();
    }

    /// <summary>Completes when the worker is asked to exit (awaited by the host's main, which holds no thread meanwhile).</summary>
    internal Task Exited => _exited.Task;

    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);

    internal void OnSessionClosed(WorkerSession session, string reason)
    {
        Gate.Remove(session);
        object? actor;
        Actors.ActorExecutor? executor;
        lock (this)
        {
            // Only the session that made the actor ends it (a reused worker may already serve another);
            // a detached actor outlives it too (the raylet kills this worker to end it).
            if (_actorOwner != session) return;
            if (ActorOutlivesItsOwner)
            {
                _actorOwner = null;
                return;
            }
            actor = Actor;
            executor = ActorExecutor;
            Actor = null;
            ActorExecutor = null;
            _actorOwner = null;
        }
        executor?.Dispose(); // its threads end once their calls return
        if (actor is IDisposable d)
        {
            // After a call that another session (a handle passed to another process) is running.
            lock (ActorLock)
            {
                try { d.Dispose(); } catch { /* the actor is gone either way */ }
            }
        }
    }
}

/// <summary>
/// The worker process's main loop: listen on a Unix socket, register with the raylet, serve
/// driver sessions until the raylet connection closes (the raylet stopped, or ended the job).
/// </summary>
internal static class WorkerHost
{
    /// <summary>Driver sessions (WorkerHello done) one worker serves at once (normally one; a few for reconnects and passed actor handles).</summary>
    internal const int MaxSessions = 16;

    /// <summary>Connections waiting for their WorkerHello at once; the oldest is closed beyond it.</summary>
    internal const int MaxPendingHandshakes = 16;

    /// <summary>A connection that has not said WorkerHello within this time is closed (RAY_WORKER_HANDSHAKE_TIMEOUT_MS overrides).</summary>
    internal static readonly TimeSpan DefaultHandshakeTimeout = TimeSpan.FromSeconds(10);

    /// <summary>The worker socket's limits, with the handshake timeout from the environment when set.</summary>
    internal static ConnectionLimits DefaultLimits
    {
        get
        {
            var v = Environment.GetEnvironmentVariable("RAY_WORKER_HANDSHAKE_TIMEOUT_MS");
            var timeout = int.TryParse(v, out var ms) && ms > 0 ? TimeSpan.FromMilliseconds(ms) : DefaultHandshakeTimeout;
            return new ConnectionLimits(MaxPendingHandshakes, timeout, MaxSessions);
        }
    }

    internal static async Task<int> RunAsync(WorkerLaunchOptions options)
    {
        Logs.WorkerLogCapture.Install(options.WorkerId); // task-name markers in its log files, for the driver and `ray logs`
        using var state = new WorkerHostState();
        using var runtime = new WorkerRuntime(options);
        var socketPath = SocketPath(options.SessionDir, options.JobId, options.WorkerId, Environment.ProcessId);
        Directory.CreateDirectory(Path.GetDirectoryName(socketPath)!);
        if (File.Exists(socketPath)) File.Delete(socketPath);
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(socketPath));
        listener.Listen(64);
        var spin = SpinFromEnvironment();
        var acceptThread = new Thread(() =>
        {
            try
            {
                while (true)
                {
                    Socket s;
                    try { s = listener.Accept(); }
                    catch (SocketException e) when (e.SocketErrorCode is SocketError.TooManyOpenSockets or SocketError.NoBufferSpaceAvailable or SocketError.ConnectionAborted)
                    {
                        // Out of descriptors under a flood: connections will close (the gate's
                        // timeout), so wait and accept again; the driver must still get in.
                        Thread.Sleep(20);
                        continue;
                    }
                    // Until its WorkerHello a connection is in the gate's small pending pool
                    // (4 KiB frames, a timeout): a flood of them never takes a driver's slot.
                    var session = new WorkerSession(s, runtime, state, spin);
                    state.Gate.Admit(session);
                    session.Start();
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
        }) { IsBackground = true, Name = "ray-worker-accept" };
        acceptThread.Start();

        ControlLink link;
        try
        {
            string nodeId;
            (link, nodeId, _) = await ControlLink.ConnectAsync(options.RayletAddress, options.Token, TimeSpan.FromSeconds(30)).ConfigureAwait(false);
            WorkerSession.IsWorkerProcess = true;
            WorkerSession.ProcessJobId = options.JobId;
            WorkerSession.ProcessNodeId = nodeId;
            link.Closed += reason => state.RequestExit("the raylet connection closed: " + reason);
            link.Pushed = static (kind, payload) =>
            {
                if (kind == (ushort)ClusterMessageKind.ObjectValue)
                {
                    BorrowedObjects.OnValue(payload); // a borrowed object's value, asked for with WantObject
                    return;
                }
                if (kind != (ushort)ClusterMessageKind.CancelTask) throw new ProtocolException($"the raylet pushed message kind {kind}; a worker takes CancelTask and ObjectValue only");
                var (_, owner, sequence) = ClusterCodec.DecodeCancelTask(payload);
                // Off the link's thread: user code runs in token callbacks, and a failure there
                // must not close this link (its close ends the worker).
                ThreadPool.UnsafeQueueUserWorkItem(static id =>
                {
                    try { WorkerSession.CancelRunning(id); }
                    catch (Exception e) { Console.Error.WriteLine($"cancelling the task of result {id} failed: {e}"); }
                }, new ObjectId(owner, sequence), preferLocal: false);
            };
            var wantLink = link;
            BorrowedObjects.SendWant = payload => wantLink.Send((ushort)ClusterMessageKind.WantObject, payload);
            BorrowedObjects.SendCancel = payload => wantLink.Send((ushort)ClusterMessageKind.CancelObject, payload);
            // Answered before the CreateActor reply goes out: a driver exiting right after cannot outrun it.
            WorkerSession.ActorCreatedNotice = () => wantLink.Request((ushort)ClusterMessageKind.ActorCreated, [], TimeSpan.FromSeconds(30));
            await link.RequestAsync((ushort)ClusterMessageKind.RegisterWorker,
                ClusterCodec.EncodeRegisterWorker(new WorkerRegistration(options.JobId, options.WorkerId, Environment.ProcessId, socketPath)),
                TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"ray worker {options.WorkerId} (job {options.JobId}): cannot register with the raylet at {options.RayletAddress}: {e.Message}");
            return 2;
        }
        // Nested tasks: a task here reaches the cluster through a driver of its own (made on first
        // use), and while it blocks in Get the raylet lends its resources out, so children can run.
        var nested = new Lazy<RayRuntime>(() => RayRuntime.Connect(options.RayletAddress, new RuntimeOptions { Namespace = WorkerSession.JobNamespace }, options.Token, nested: true));
        RayRuntime.NestedFactory = () => nested.Value;
        Workers.WorkerContext.ProcessBlockedHook = () => WorkerSession.InTask ? new BlockedNotice(link) : null;
        Console.Out.WriteLine($"ray worker {options.WorkerId} (job {options.JobId}, pid {Environment.ProcessId}) serving on {socketPath}");
        await state.Exited.ConfigureAwait(false);
        Console.Out.WriteLine($"ray worker {options.WorkerId} exiting: {state.ExitReason}");
        link.Dispose();
        try { File.Delete(socketPath); } catch (IOException) { }
        return 0;
    }

    /// <summary>Tells the raylet this worker's task is blocked (its resources may be lent), and when it runs again.</summary>
    private sealed class BlockedNotice : IDisposable
    {
        private readonly ControlLink _link;

        internal BlockedNotice(ControlLink link)
        {
            _link = link;
            Send(true);
        }

        public void Dispose() => Send(false);

        private void Send(bool blocked)
        {
            if (!_link.IsClosed) _link.Send((ushort)ClusterMessageKind.WorkerBlocked, ClusterCodec.EncodeWorkerBlocked(blocked));
        }
    }

    /// <summary>How long a receive thread spins before blocking (RAY_SPIN_US, default 50 us; also used by drivers).</summary>
    internal static TimeSpan SpinFromEnvironment()
    {
        var v = Environment.GetEnvironmentVariable("RAY_SPIN_US");
        return TimeSpan.FromMicroseconds(int.TryParse(v, out var us) && us >= 0 ? us : 50);
    }

    /// <summary>The worker socket's path (defined in the contract, shared with the raylet).</summary>
    internal static string SocketPath(string sessionDir, uint jobId, uint workerId, int pid) =>
        Ray.Contract.Session.WorkerSocketPaths.SocketPath(sessionDir, jobId, workerId, pid);
}
