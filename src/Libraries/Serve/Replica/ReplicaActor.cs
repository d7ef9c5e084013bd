using System.Diagnostics;
using System.Reflection;
using MemoryPack;
using Ray.Serve.Routing;

namespace Ray.Serve.Replica;

/// <summary>
/// The actor behind one replica: it holds the user's instance and is the one place that admits
/// requests. Lifecycle:
/// 1. built from a <see cref="ReplicaInit"/> (user constructor, then <c>Reconfigure(UserConfig)</c>);
/// 2. <see cref="Ready"/> answers once it is built, and the controller starts routing to it;
/// 3. <see cref="HandleAsync"/> runs requests, refusing past MaxOngoingRequests (routers retry elsewhere);
/// 4. <see cref="DrainAsync"/> refuses new requests and waits for the running ones; then the actor is terminated.
/// The actor runs with a high MaxConcurrency: refusals, health checks and stats must never wait
/// behind running requests, so admission is counted here rather than by the actor's queue.
/// </summary>
internal sealed partial class ReplicaActor
{
    private readonly object _user;
    private readonly Type _userType;
    private readonly string _deployment;
    private readonly string _replicaId;
    private readonly int _maxOngoing;
    private readonly Dictionary<string, Batcher> _batchers = new();
    private int _ongoing;
    private long _processed;
    private volatile bool _draining;

    static ReplicaActor() => ServeThreads.EnsureMinimum();

    public ReplicaActor(ReplicaInit init)
    {
        _deployment = init.DeploymentName;
        _replicaId = init.ReplicaId;
        _maxOngoing = init.MaxOngoingRequests;
        _userType = Type.GetType(init.UserType, throwOnError: true)!;
        var args = new object?[init.Args.Length];
        for (var i = 0; i < args.Length; i++)
        {
            var t = init.ArgTypes[i];
            if (t.Length == 0) continue;
            if (t.StartsWith(ReplicaInit.HandlePrefix, StringComparison.Ordinal))
            {
                var handleType = Type.GetType(t[ReplicaInit.HandlePrefix.Length..], throwOnError: true)!;
                var key = System.Text.Encoding.UTF8.GetString(init.Args[i]);
                args[i] = Activator.CreateInstance(handleType, BindingFlags.NonPublic | BindingFlags.Instance, null, [key], null);
            }
            else args[i] = MemoryPackSerializer.Deserialize(Type.GetType(t, throwOnError: true)!, init.Args[i]);
        }
        try { _user = Activator.CreateInstance(_userType, args)!; }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerException);
            throw;
        }
        if (init.UserConfig is not null) Reconfigure(init.UserConfigType!, init.UserConfig).GetAwaiter().GetResult();
    }

    /// <summary>Answers once the replica is built: its process id.</summary>
    public int Ready() => Environment.ProcessId;

    /// <summary>Admits the call (or refuses it at MaxOngoingRequests) and runs it off the actor's thread.</summary>
    public Task<ReplicaReply> HandleAsync(ReplicaCall call)
    {
        if (Admit() is { } refused) return Task.FromResult(refused);
        // User code runs on the thread pool: a slow or blocking method must not hold the
        // actor's own thread, where refusals and health checks are answered.
        return Task.Run(() => RunAsync(call));
    }

    /// <summary>
    /// A synchronous user method: admitted and run on one of the actor's own threads (Core's
    /// executor starts them as calls need them), one thread hop from the caller instead of two.
    /// </summary>
    public ReplicaReply Handle(ReplicaCall call)
    {
        if (Admit() is { } refused) return refused;
        // A synchronous method completes RunAsync without awaiting anything.
        return RunAsync(call).GetAwaiter().GetResult();
    }

    // Admits a request (counted in _ongoing) or returns the refusal.
    private ReplicaReply? Admit()
    {
        var n = Interlocked.Increment(ref _ongoing);
        if (n <= _maxOngoing && !_draining) return null;
        var now = Interlocked.Decrement(ref _ongoing);
        return new ReplicaReply { Status = ReplyStatus.Rejected, Ongoing = now };
    }

    private static ReplicaReply Failure(Exception e, int ongoing) => new()
    {
        Status = ReplyStatus.UserError,
        Ongoing = ongoing,
        ErrorType = e.GetType().FullName,
        ErrorMessage = e.Message,
        ErrorStack = e.StackTrace,
    };

    private async Task<ReplicaReply> RunAsync(ReplicaCall call)
    {
        var start = Stopwatch.GetTimestamp();
        var ok = false;
        try
        {
            var method = MethodInvoker.For(_userType, call.Method, call.Args.Length);
            byte[] payload;
            if (method.Batch is not null)
            {
                Batcher batcher;
                lock (_batchers)
                    if (!_batchers.TryGetValue(call.Method, out batcher!)) _batchers[call.Method] = batcher = new Batcher(method, _user);
                var result = await batcher.Enqueue(method.ReadArgument(0, call.Args[0])).ConfigureAwait(false);
                payload = method.WriteResult(result, item: true);
            }
            else
            {
                var result = await method.InvokeAsync(_user, method.ReadArguments(call.Args)).ConfigureAwait(false);
                payload = method.WriteResult(result, item: false);
            }
            ok = true;
            return new ReplicaReply { Status = ReplyStatus.Ok, Payload = payload, Ongoing = Volatile.Read(ref _ongoing) - 1 };
        }
        catch (Exception e)
        {
            return Failure(e, Volatile.Read(ref _ongoing) - 1);
        }
        finally
        {
            Interlocked.Decrement(ref _ongoing);
            Interlocked.Increment(ref _processed);
            ServeMetrics.ReplicaRequest(_deployment, _replicaId, Stopwatch.GetElapsedTime(start).TotalMilliseconds, ok);
        }
    }

    /// <summary>Runs the user's <c>CheckHealth()</c> when the class has one; throws (fails the check) when it throws.</summary>
    public async Task<bool> CheckHealthAsync()
    {
        var m = _userType.GetMethod("CheckHealth", BindingFlags.Public | BindingFlags.Instance, Type.EmptyTypes);
        if (m is null) return true;
        var r = m.Invoke(_user, null);
        if (r is Task t) await t.ConfigureAwait(false);
        if (r is false) throw new InvalidOperationException("CheckHealth returned false");
        return true;
    }

    /// <summary>Gives the user's <c>Reconfigure(T)</c> the new config (Ray's <c>user_config</c>), without restarting.</summary>
    public async Task<bool> Reconfigure(string configType, byte[] config)
    {
        var type = Type.GetType(configType, throwOnError: true)!;
        var value = MemoryPackSerializer.Deserialize(type, config);
        var m = _userType.GetMethod("Reconfigure", BindingFlags.Public | BindingFlags.Instance, [type])
            ?? throw new InvalidOperationException($"{_userType.Name} has a UserConfig but no public Reconfigure({type.Name}) method.");
        object? r;
        try { r = m.Invoke(_user, [value]); }
        catch (TargetInvocationException e) when (e.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerException);
            throw;
        }
        if (r is Task t) await t.ConfigureAwait(false);
        return true;
    }

    /// <summary>
    /// Stops admitting requests and waits (checking every <paramref name="loopMs"/>) until the
    /// running ones are done or <paramref name="timeoutMs"/> passes; returns how many are still running.
    /// </summary>
    public async Task<int> DrainAsync(long loopMs, long timeoutMs)
    {
        _draining = true;
        var sw = Stopwatch.StartNew();
        var loop = TimeSpan.FromMilliseconds(Math.Max(1, Math.Min(loopMs, 50)));
        while (Volatile.Read(ref _ongoing) > 0 && sw.ElapsedMilliseconds < timeoutMs) await Task.Delay(loop).ConfigureAwait(false);
        lock (_batchers) foreach (var b in _batchers.Values) b.Stop();
        return Volatile.Read(ref _ongoing);
    }

    /// <summary>Load and batch figures.</summary>
    public ReplicaStats Stats()
    {
        int[] sizes;
        lock (_batchers) sizes = _batchers.Values.SelectMany(b => b.RecentSizes).ToArray();
        return new ReplicaStats { Ongoing = Math.Max(0, Volatile.Read(ref _ongoing)), Processed = Interlocked.Read(ref _processed), Pid = Environment.ProcessId, BatchSizes = sizes };
    }

    /// <summary>Connected mode: a replica of a deployment this one holds a handle to (pushed by the controller).</summary>
    public bool AddRoute(RouteInfo info, ActorHandle<ReplicaActor> replica)
    {
        Routers.GetOrCreate(info.Key).AddKnown(info, replica);
        return true;
    }

    /// <summary>Connected mode: the replicas of that deployment to route to now, by actor id.</summary>
    public bool SetRouteMembers(string key, string[] actorIds)
    {
        Routers.GetOrCreate(key).SetMembers(actorIds);
        return true;
    }
}
