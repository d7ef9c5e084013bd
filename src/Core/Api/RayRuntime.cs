using Ray.Runtime;

namespace Ray;

/// <summary>
/// An embedded Ray runtime: tasks, actors and objects in this process, scheduled by resources.
/// <code>
/// await using var ray = RayRuntime.Start();
/// var sum = ray.Task(Fns.Add).Remote(1, 2);
/// Console.WriteLine(await sum);
/// </code>
/// </summary>
public sealed partial class RayRuntime : IAsyncDisposable, IDisposable
{
    private static RayRuntime? s_last;

    private RayRuntime(RuntimeCore core)
    {
        Core = core;
        core.Facade = this;
    }

    internal RuntimeCore Core { get; }

    /// <summary>Starts an embedded runtime. Resources default to the machine's CPUs and memory, no GPU.</summary>
    public static RayRuntime Start(RuntimeOptions? options = null)
    {
        var rt = new RayRuntime(new RuntimeCore(options ?? new RuntimeOptions()));
        s_last = rt;
        return rt;
    }

    /// <summary>
    /// Connects to a running cluster as a driver: tasks and actors run in the raylet's worker
    /// processes, large objects live in the node's shared-memory store. The same code as with
    /// <see cref="Start"/> runs unchanged.
    /// </summary>
    /// <param name="address">
    /// "host:port" of a raylet, a session directory or its raylet.json, or null/"auto": the
    /// RAY_ADDRESS environment variable, else the latest session started on this machine
    /// ($TMPDIR/ray/session_latest, where `ray start` puts it).
    /// The cluster token comes from RAY_CLUSTER_TOKEN, else from the session's address file.
    /// </param>
    /// <param name="options">Logging and object options; resources come from the cluster.</param>
    /// <param name="token">The cluster token; null: RAY_CLUSTER_TOKEN, else the session's address file.</param>
    /// <exception cref="RayClusterException">No raylet there, it refused the token, or a session file on the way
    /// (the session root, its session_latest link, the session directory, the address file) belongs to another
    /// user or may be written by others: such a file is never followed.</exception>
    public static RayRuntime Connect(string? address = null, RuntimeOptions? options = null, string? token = null) =>
        Connect(address, options, token, nested: false);

    /// <summary>
    /// As <see cref="Connect(string?, RuntimeOptions?, string?)"/>, without holding a thread while
    /// the raylet answers; <paramref name="cancellationToken"/> stops the wait (nothing is left
    /// registered: a link that connects after the cancel is closed, and the raylet ends its job).
    /// </summary>
    public static async Task<RayRuntime> ConnectAsync(string? address = null, RuntimeOptions? options = null, string? token = null, CancellationToken cancellationToken = default)
    {
        options ??= new RuntimeOptions();
        RuntimeCore.ValidateOptions(options);
        var session = await Cluster.Driver.ClusterSession.ConnectAsync(address, token, JobName(false), TimeSpan.FromSeconds(30), false, cancellationToken).ConfigureAwait(false);
        if (options.LogToDriver) session.ForwardWorkerLogs();
        return Attach(options, session);
    }

    private static string JobName(bool nested) =>
        nested ? $"nested-{Environment.ProcessId}" : System.Reflection.Assembly.GetEntryAssembly()?.GetName().Name ?? "driver";

    internal static RayRuntime Connect(string? address, RuntimeOptions? options, string? token, bool nested)
    {
        options ??= new RuntimeOptions();
        RuntimeCore.ValidateOptions(options); // before the raylet registers a job and prestarts its workers
        var session = Cluster.Driver.ClusterSession.Connect(address, token, JobName(nested), TimeSpan.FromSeconds(30), nested);
        if (options.LogToDriver && !nested) session.ForwardWorkerLogs(); // a nested driver is a worker: its output is in its own log
        return Attach(options, session);
    }

    private static RayRuntime Attach(RuntimeOptions options, Cluster.Driver.ClusterSession session)
    {
        try
        {
            var rt = new RayRuntime(new RuntimeCore(options, session));
            s_last = rt;
            return rt;
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Ray's <c>ray.init()</c>: connects to the cluster named by RAY_ADDRESS when it is set,
    /// else starts an embedded runtime. Lets one program run either way without changes.
    /// </summary>
    public static RayRuntime Init(RuntimeOptions? options = null) =>
        string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(Cluster.Driver.ClusterSession.AddressVariable))
            ? Start(options)
            : Connect(null, options);

    /// <summary>True when this runtime is a driver connected to a cluster (<see cref="Connect(string?, RuntimeOptions?, string?)"/>).</summary>
    public bool IsConnected => Core.Cluster is not null;

    /// <summary>
    /// The runtime running the current task or actor call, else the most recently started one
    /// that is still running. Use it for nested submission from inside tasks.
    /// </summary>
    public static RayRuntime Current =>
        RayContext.CurrentRuntime ?? (s_last is { IsShutdown: false } last ? last
            : NestedFactory is { } nested ? nested()
            : throw new InvalidOperationException("No Ray runtime is running; call RayRuntime.Start() first."));

    /// <summary>
    /// In a worker process: makes (once) the runtime that tasks use for nested submission, a
    /// driver connected to the same raylet.
    /// </summary>
    internal static Func<RayRuntime>? NestedFactory { get; set; }

    /// <summary>The most recently started runtime still running, if any (never makes a worker's nested one).</summary>
    internal static RayRuntime? LastStarted => s_last is { IsShutdown: false } last ? last : null;

    /// <summary>True after <see cref="Shutdown"/>.</summary>
    public bool IsShutdown => Core.IsStopped;

    // ---- tasks ----

    /// <summary>
    /// A remote function from a static method or a lambda that captures nothing, e.g.
    /// <c>Task(Fns.Add).Remote(1, 2)</c>. Up to six arguments; async methods and methods
    /// returning nothing work too.
    /// </summary>
    /// <exception cref="ArgumentException">The delegate is bound to an instance or captures state.</exception>
    public RemoteFunction<TDelegate> Task<TDelegate>(TDelegate function) where TDelegate : Delegate
    {
        var descriptor = Tasks.FunctionDescriptor.For(function ?? throw new ArgumentNullException(nameof(function)));
        return new(this, function, descriptor, null);
    }

    // ---- objects ----

    /// <summary>Stores a copy of <paramref name="value"/> and returns a reference to it.</summary>
    public ObjectRef<T> Put<T>(T value) => Core.Put(value);

    /// <summary>
    /// Stores a copy of <paramref name="data"/> as a byte array object, copying once (straight
    /// into shared memory when large). For callers that hold bytes outside a managed array.
    /// </summary>
    public ObjectRef<byte[]> PutBytes(ReadOnlySpan<byte> data) => Core.PutBytes(data);

    /// <summary>
    /// Blocks until every object is ready; returns the values in order. Fails as soon as any of
    /// them fails (with that object's error), as Ray does, without waiting for the ones before it.
    /// </summary>
    /// <exception cref="GetTimeoutException">When <paramref name="timeout"/> passes first; objects stay intact.</exception>
    public T[] Get<T>(IReadOnlyList<ObjectRef<T>> refs, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(refs);
        var limit = timeout ?? Timeout.InfiniteTimeSpan;
        var infinite = limit == Timeout.InfiniteTimeSpan;
        var start = System.Diagnostics.Stopwatch.GetTimestamp();
        var values = new T[refs.Count];
        for (var i = 0; i < refs.Count; i++)
        {
            var r = refs[i] ?? throw new ArgumentException($"refs[{i}] is null.", nameof(refs));
            // Waited for in slices: between them a failure of any later object ends the Get.
            while (!r.IsReady)
            {
                var left = infinite ? Timeout.InfiniteTimeSpan : limit - System.Diagnostics.Stopwatch.GetElapsedTime(start);
                if (!infinite && left < TimeSpan.Zero) left = TimeSpan.Zero;
                var slice = infinite || left > FailureCheckInterval ? FailureCheckInterval : left;
                if (r.WaitReady(slice)) break;
                for (var j = i + 1; j < refs.Count; j++)
                    if (refs[j] is { } later && later.Entry.IsCompleted && (later.Entry.IsFailed || later.Entry.IsFreed)) later.Get();
                if (!infinite && slice == left)
                    throw ExceptionFactory.GetManyTimeout(refs.Count(x => x.IsReady), refs.Count, limit);
            }
            values[i] = r.Get();
        }
        return values;
    }

    // How often a Get over many objects looks for a failure among the later ones while it waits.
    private static readonly TimeSpan FailureCheckInterval = TimeSpan.FromMilliseconds(10);

    /// <summary>
    /// Awaits every object; returns the values in order. Fails as soon as any of them fails, as
    /// <see cref="Get{T}(IReadOnlyList{ObjectRef{T}}, TimeSpan?)"/> does. Cancelling stops the
    /// wait only: the tasks go on.
    /// </summary>
    public async Task<T[]> GetAsync<T>(IReadOnlyList<ObjectRef<T>> refs, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(refs);
        for (var i = 0; i < refs.Count; i++)
            if (refs[i] is null) throw new ArgumentException($"refs[{i}] is null.", nameof(refs));
        if (!refs.All(r => r.IsReady)) await Runtime.Waiter.AllOrFirstFailureAsync(refs, cancellationToken).ConfigureAwait(false);
        foreach (var r in refs)
            if (r.Entry.IsFailed || r.Entry.IsFreed) r.Get(); // throws its error
        var values = new T[refs.Count];
        for (var i = 0; i < refs.Count; i++) values[i] = refs[i].Get();
        return values;
    }

    /// <summary>
    /// Waits until <paramref name="numReturns"/> of <paramref name="refs"/> are ready or the
    /// timeout passes (Ray's <c>ray.wait</c>). Ready holds at most numReturns refs; both lists
    /// keep the input order. Refs must be unique.
    /// </summary>
    public WaitResult<TRef> Wait<TRef>(IReadOnlyList<TRef> refs, int numReturns = 1, TimeSpan? timeout = null)
        where TRef : ObjectRef => Waiter.Wait(refs, numReturns, timeout ?? Timeout.InfiniteTimeSpan);

    /// <summary>
    /// As <see cref="Wait{TRef}"/>, without holding a thread. Cancelling throws
    /// <see cref="OperationCanceledException"/> and stops the wait only: the tasks go on.
    /// </summary>
    public Task<WaitResult<TRef>> WaitAsync<TRef>(IReadOnlyList<TRef> refs, int numReturns = 1, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
        where TRef : ObjectRef => Waiter.WaitAsync(refs, numReturns, timeout ?? Timeout.InfiniteTimeSpan, cancellationToken);

    /// <summary>
    /// Cancels the task that produces <paramref name="objectRef"/>. A queued task never runs; a
    /// running one sees <see cref="RayContext.CancellationToken"/> signalled (in a worker process
    /// too: the cancel reaches it through the raylet). Either way its result fails with
    /// <see cref="TaskCancelledException"/>, and what depends on it fails with that cancel inside.
    /// Returns false if it had finished.
    /// </summary>
    /// <param name="objectRef">The task's result.</param>
    /// <param name="force">
    /// As Ray's <c>force=True</c>: in cluster mode the worker process running the task is
    /// stopped (tasks queued behind it on that worker are retried on another, counting as a
    /// retry). Embedded, threads cannot be stopped: the same as without. Not for actor calls.
    /// </param>
    /// <param name="recursive">Also cancel the tasks it submitted, and theirs (default, as Ray's <c>recursive=True</c>).</param>
    public bool Cancel(ObjectRef objectRef, bool force = false, bool recursive = true) =>
        Core.Cancel(objectRef ?? throw new ArgumentNullException(nameof(objectRef)), force, recursive);

    // ---- actors ----

    /// <summary>Starts creating an actor of <typeparamref name="TActor"/>: call <c>.Remote(ctorArgs)</c>.</summary>
    public ActorCreator<TActor> Actor<TActor>(ActorOptions? options = null) where TActor : class => new(this, options);

    /// <summary>
    /// The live actor named <paramref name="name"/> in <paramref name="namespace"/> (default: this
    /// runtime's, <see cref="RuntimeOptions.Namespace"/>). Connected, any driver's actor in that
    /// namespace is found (a handle attached to it; it does not follow the actor's restarts); one
    /// claimed but not yet alive is waited for (up to 60 s).
    /// </summary>
    /// <exception cref="ActorNotFoundException">No live actor has that name there, or it has another type.</exception>
    public ActorHandle<TActor> GetActor<TActor>(string name, string? @namespace = null) where TActor : class => Core.FindActor<TActor>(name, @namespace, true)!;

    /// <summary>As <see cref="GetActor{TActor}"/>, or null when no live actor has that name there.</summary>
    /// <exception cref="ActorNotFoundException">The actor has another type.</exception>
    public ActorHandle<TActor>? TryGetActor<TActor>(string name, string? @namespace = null) where TActor : class => Core.FindActor<TActor>(name, @namespace, false);

    /// <summary>This runtime's namespace: <see cref="RuntimeOptions.Namespace"/>, or an anonymous one of its own.</summary>
    public string Namespace => Core.Namespace;

    /// <summary>Kills the actor: queued and running calls fail with <see cref="ActorDiedException"/>, its name is freed.</summary>
    public void Kill<TActor>(ActorHandle<TActor> actor) where TActor : class =>
        Core.Kill((actor ?? throw new ArgumentNullException(nameof(actor))).Instance);

    /// <summary>
    /// Kills the actor (Ray's <c>ray.kill(actor, no_restart=...)</c>). With <paramref name="noRestart"/>
    /// true, as <see cref="Kill{TActor}(ActorHandle{TActor})"/>. With false, its worker process is
    /// killed as a crash would: an actor with restarts left (<see cref="ActorOptions.MaxRestarts"/>)
    /// is made again with its constructor arguments (calls in flight resent per
    /// <see cref="ActorOptions.MaxTaskRetries"/>), one without dies.
    /// </summary>
    /// <exception cref="NotSupportedException"><paramref name="noRestart"/> false on an embedded runtime (its actors have no process to restart in), or for a handle received from another process.</exception>
    public void Kill<TActor>(ActorHandle<TActor> actor, bool noRestart) where TActor : class
    {
        ArgumentNullException.ThrowIfNull(actor);
        if (noRestart) Core.Kill(actor.Instance);
        else Core.KillForRestart(actor.Instance);
    }

    /// <summary>
    /// Ends the actor gracefully (Ray's <c>__ray_terminate__</c>): calls made before this one
    /// finish, then the actor dies for good (it is not restarted) and its name is freed; calls
    /// made after it fail with <see cref="ActorDiedException"/>. The returned ref is ready once
    /// the actor has ended.
    /// </summary>
    public ObjectRef<Unit> Terminate<TActor>(ActorHandle<TActor> actor) where TActor : class =>
        (actor ?? throw new ArgumentNullException(nameof(actor))).Instance.SubmitTerminate();

    // ---- state ----

    /// <summary>A snapshot of counters and resources.</summary>
    public RuntimeStats Stats => Core.Snapshot();

    /// <summary>
    /// Total resources: of this runtime when embedded; of the raylet's node when connected (asked
    /// of the raylet, so it includes <c>object_store_memory</c>). Memory amounts are in bytes.
    /// </summary>
    /// <exception cref="RayClusterException">Connected, and the raylet is gone or did not answer within 10 s.</exception>
    public IReadOnlyDictionary<string, double> ClusterResources =>
        Core.Cluster is null ? Core.ToDictionary(Core.Scheduler.Snapshot().Total) : WaitForNode(available: false);

    /// <summary>
    /// Resources not held by running tasks or live actors: of this runtime when embedded; of the
    /// raylet's node when connected (what the leases of every driver on it leave free).
    /// </summary>
    /// <exception cref="RayClusterException">Connected, and the raylet is gone or did not answer within 10 s.</exception>
    public IReadOnlyDictionary<string, double> AvailableResources =>
        Core.Cluster is null ? Core.ToDictionary(Core.Scheduler.Snapshot().Available) : WaitForNode(available: true);

    /// <summary>The async twin of <see cref="ClusterResources"/>.</summary>
    /// <param name="cancellationToken">Stops waiting for the raylet (connected runtimes only).</param>
    public Task<IReadOnlyDictionary<string, double>> ClusterResourcesAsync(CancellationToken cancellationToken = default) =>
        Core.Cluster is null ? System.Threading.Tasks.Task.FromResult(ClusterResources) : NodeResourcesAsync(available: false, cancellationToken);

    /// <summary>The async twin of <see cref="AvailableResources"/>.</summary>
    /// <param name="cancellationToken">Stops waiting for the raylet (connected runtimes only).</param>
    public Task<IReadOnlyDictionary<string, double>> AvailableResourcesAsync(CancellationToken cancellationToken = default) =>
        Core.Cluster is null ? System.Threading.Tasks.Task.FromResult(AvailableResources) : NodeResourcesAsync(available: true, cancellationToken);

    private static readonly TimeSpan s_statusTimeout = TimeSpan.FromSeconds(10);

    // A blocking public call: it waits for the raylet's Status reply, which the control link's
    // own receive thread completes; nothing has to run on this thread for it, so the wait cannot
    // deadlock (the "a blocking public call may block on an event" rule of the layering issue).
    private IReadOnlyDictionary<string, double> WaitForNode(bool available)
    {
        var task = NodeResourcesAsync(available, CancellationToken.None);
        try { task.Wait(); }
        catch (AggregateException e) when (e.InnerException is not null) { System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerException); }
        return task.Result;
    }

    private async Task<IReadOnlyDictionary<string, double>> NodeResourcesAsync(bool available, CancellationToken cancellationToken)
    {
        // The control link fails with a RayClusterException when the raylet is gone or silent past the timeout.
        var report = await Core.Cluster!.GetStatusAsync(s_statusTimeout).WaitAsync(cancellationToken).ConfigureAwait(false);
        var result = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var node in report.Nodes)
        {
            if (!node.Alive) continue;
            foreach (var r in node.Resources)
            {
                result.TryGetValue(r.Name, out var sum);
                result[r.Name] = sum + (available ? Math.Max(0, r.Total - r.Used) : r.Total);
            }
        }
        return result;
    }

    /// <summary>Stops workers and actors. Pending tasks fail with <see cref="RuntimeShutdownException"/>.</summary>
    public void Shutdown()
    {
        Core.Dispose();
        Interlocked.CompareExchange(ref s_last, null, this);
    }

    /// <inheritdoc />
    public void Dispose() => Shutdown();

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        Shutdown();
        return ValueTask.CompletedTask;
    }
}
