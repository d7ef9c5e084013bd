using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Ray.Actors;
using Ray.Objects;
using Ray.Scheduling;
using Ray.Serialization;
using Ray.Tasks;
using Ray.Workers;

namespace Ray.Runtime;

/// <summary>
/// The core worker of the driver plus the node's parts, wired together for embedded mode:
/// object store and reference table, scheduler, worker pool and actors.
/// </summary>
internal sealed partial class RuntimeCore : IDisposable
{
    private static int s_nextOwner;
    private static readonly uint s_nodeTag = Ray.Contract.Ids.OwnerIds.RandomNodeTag();

    private readonly ConcurrentDictionary<string, ActorInstance> _named = new(StringComparer.Ordinal); // by NameKey(namespace, name)
    private readonly ConcurrentDictionary<ActorId, ActorInstance> _actors = new();
    private readonly Dictionary<ActorId, ActorInstance> _attached = new(); // borrowed handles' actors (AttachActor)
    private readonly ConditionalWeakTable<TaskOptions, SchedulingClass> _classByOptions = new();
    private long _nextTask;
    private long _nextActor;
    private volatile bool _stopped;
    private readonly bool _defaultFits; // a default task (1 CPU) fits this runtime's totals

    /// <summary>
    /// Checks the runtime's resource amounts; in both modes (a connected runtime takes its resources
    /// from the cluster, but bad input is refused alike), and before a connect registers a job.
    /// </summary>
    internal static void ValidateOptions(RuntimeOptions options)
    {
        OptionsValidator.Resources(nameof(RuntimeOptions), options.NumCpus ?? 0, options.NumGpus ?? 0, options.MemoryBytes ?? 0, options.Resources, nameof(options));
        if (options.Namespace is { } ns && string.IsNullOrWhiteSpace(ns))
            ExceptionFactory.ThrowArgument("RuntimeOptions.Namespace must not be empty or blank (leave it null for an anonymous namespace).", nameof(options));
    }

    internal RuntimeCore(RuntimeOptions options, Cluster.Driver.ClusterSession? cluster = null)
    {
        Formatters.EnsureRegistered();
        Options = options;
        Cluster = cluster;
        Logger = (options.LoggerFactory ?? NullLoggerFactory.Instance).CreateLogger("Ray.Runtime");
        // The raylet's owner id for this driver (its node's tag), or this process's random tag (embedded).
        OwnerId = cluster is { Job.OwnerId: not 0 } ? cluster.Job.OwnerId
            : Ray.Contract.Ids.OwnerIds.Compose(s_nodeTag, (uint)Interlocked.Increment(ref s_nextOwner));

        double cpus, gpus;
        long memory;
        IReadOnlyDictionary<string, double>? custom;
        ValidateOptions(options);
        InitRuntimeEnv();
        if (cluster is null)
        {
            cpus = options.NumCpus ?? Environment.ProcessorCount;
            gpus = options.NumGpus ?? 0;
            memory = options.MemoryBytes ?? GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
            custom = options.Resources;
        }
        else (cpus, gpus, memory, custom) = FromCluster(cluster.Job.Resources);
        if (cpus < 0 || gpus < 0 || memory < 0)
            ExceptionFactory.ThrowArgument("Resource amounts must not be negative.", nameof(options));
        var registry = new ResourceRegistry(custom?.Keys ?? Enumerable.Empty<string>());
        var total = registry.Build(cpus, gpus, memory, custom, out _);
        Scheduler = new LocalScheduler(registry, total);
        if (options.LargeObjectThresholdBytes < 0) ExceptionFactory.ThrowArgument("LargeObjectThresholdBytes must not be negative.", nameof(options));
        Store = new MemoryStore(OwnerId, options.SpinBeforePark, bufferBudget: Math.Max(256L << 20, memory / 8), options) { TasksLeaveProcess = cluster is not null };
        if (cluster is not null) new Ray.Cluster.Driver.BorrowerRequests(cluster.Link, Store, CancelOwned).Install(); // workers ask it for borrowed objects' values
        // Made unchecked: a runtime with no CPU (as Ray's num_cpus=0 head) still puts, gets and runs
        // 0-CPU tasks; a default task is refused at submission there.
        DefaultClass = Scheduler.ClassFor(BuildRequest(TaskOptions.Default), "A task", checkFeasible: false);
        _defaultFits = Scheduler.IsFeasible(DefaultClass.Request);
        // Actor calls run on their actor's thread, never through a lease: a class of their own.
        ActorClass = new SchedulingClass(-1, new ResourceSet(new long[registry.Count]), "actor call");

        var initial = options.NumWorkers ?? Math.Max(1, (int)Math.Ceiling(cpus));
        var max = options.MaxWorkers ?? 64 + 4 * Math.Max(1, (int)Math.Ceiling(cpus));
        if (initial < 0 || max < 1) ExceptionFactory.ThrowArgument("Worker counts must be positive.", nameof(options));
        if (cluster is null) Pool = new InProcessWorkerPool(this, initial, max);
        else
        {
            Store.LargeObjects.UseNodeStore(cluster.Job.PlasmaSocket);
            Pool = new Ray.Cluster.Driver.ClusterWorkerPool(this, cluster, Ray.Cluster.WorkerSide.WorkerHost.SpinFromEnvironment());
        }
        Scheduler.Pool = Pool;
        PlacementGroups = new PlacementGroups.PlacementGroupManager(this);
        Log.Started(Logger, OwnerId, Scheduler.FormatTotal(), initial);
    }

    internal RuntimeOptions Options { get; }

    /// <summary>The raylet connection of a connected driver; null in embedded mode.</summary>
    internal Cluster.Driver.ClusterSession? Cluster { get; }

    private static (double Cpus, double Gpus, long Memory, Dictionary<string, double> Custom) FromCluster(IReadOnlyList<ResourceAmount> resources)
    {
        double cpus = 0, gpus = 0;
        long memory = 0;
        var custom = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var (name, units) in resources)
        {
            switch (name)
            {
                case ResourceRegistry.Cpu: cpus = units / (double)ResourceUnits.Unit; break;
                case ResourceRegistry.Gpu: gpus = units / (double)ResourceUnits.Unit; break;
                case ResourceRegistry.Memory: memory = units / ResourceUnits.Unit; break;
                default: custom[name] = units / (double)ResourceUnits.Unit; break;
            }
        }
        return (cpus, gpus, memory, custom);
    }
    internal RayRuntime? Facade { get; set; }
    internal ILogger Logger { get; }
    internal ulong OwnerId { get; }

    /// <summary>The node this runtime is on: its raylet's id when connected, else its own (the owner id's node tag).</summary>
    internal string NodeId => Cluster?.Job.NodeId ?? $"{OwnerId >> 32:x8}";
    internal LocalScheduler Scheduler { get; }
    internal MemoryStore Store { get; }
    internal IWorkerPool Pool { get; }
    internal StatsCounters Stats { get; } = new();
    internal SchedulingClass DefaultClass { get; }
    internal SchedulingClass ActorClass { get; }
    internal PlacementGroups.PlacementGroupManager PlacementGroups { get; }
    internal bool IsStopped => _stopped;

    internal TaskId NewTaskId() => new(OwnerId, (ulong)Interlocked.Increment(ref _nextTask));

    internal void ThrowIfStopped()
    {
        if (_stopped) ExceptionFactory.ThrowShutdown();
    }

    // ---- tasks ----

    /// <summary>Submits a task; <paramref name="returns"/>: the refs its call shape gives (1, a tuple's arity for multiple returns, 0 for a stream), checked against NumReturns.</summary>
    internal ObjectRef<TR> SubmitTask<TR>(SubmittedTask spec, FunctionDescriptor fn, TaskOptions? options, int returns = 1)
    {
        if (_stopped)
        {
            spec.AbandonArguments();
            ExceptionFactory.ThrowShutdown();
        }
        SchedulingClass cls;
        try
        {
            if (options is null && !_defaultFits) Scheduler.EnsureFeasible(DefaultClass.Request, $"Task {fn.Name}"); // throws: a runtime with no CPU
            cls = options is null ? DefaultClass : ClassFor(options, fn);
            if (cls.Placement is null)
            {
                // Submitted from a task placed with CaptureChildTasks: into its group too (as Ray).
                if (PlacementGroups.AnyCapture && options?.SchedulingStrategy is null
                    && PlacementGroups.Place(null, cls.Request, $"Task {options?.Name ?? fn.Name}") is { } captured)
                    cls = Scheduler.ClassFor(cls.Request, captured);
            }
            else if (cls.Placement.Value.Group.IsRemoved) throw cls.Placement.Value.Group.RemovedError();
            if (options is not null) ReturnCount.Check(options.NumReturns, returns, options.Name ?? fn.Name);
        }
        catch
        {
            spec.AbandonArguments();
            throw;
        }
        var result = Store.CreatePending<TR>();
        spec.Init(NewTaskId(), cls, options ?? TaskOptions.Default, options?.Name ?? fn.Name, result, fn);
        cls.Placement?.Group.Track(spec); // a removal of its group fails it wherever it is
        // A task submitted by a running task is its child: a (recursive) cancel of the parent reaches it.
        if (Workers.WorkerContext.Current?.CurrentTask is { } parent) parent.AddChild(spec);
        else if (Ray.Cluster.WorkerSide.WorkerSession.InTask) Ray.Cluster.WorkerSide.WorkerSession.AddChild(spec);
        if (Cluster is not null) spec.Env = EnvFor(spec.Options);
        Stats.OnSubmitted();
        spec.RegisterDependencies();
        spec.DependenciesRegistered();
        return new ObjectRef<TR>(result);
    }

    private SchedulingClass ClassFor(TaskOptions options, FunctionDescriptor fn)
    {
        if (_classByOptions.TryGetValue(options, out var cls)) return cls;
        var what = $"Task {options.Name ?? fn.Name}";
        OptionsValidator.RetryCount(what, nameof(TaskOptions.MaxRetries), options.MaxRetries, nameof(options));
        CheckRuntimeEnv(options.RuntimeEnv, what);
        var request = Build(options.NumCpus, options.NumGpus, options.MemoryBytes, options.Resources, what);
        if (options.SchedulingStrategy is { } strategy)
            cls = Scheduler.ClassFor(request, PlacementGroups.Place(strategy, request, what)!.Value); // checked against the bundle, not the node
        else cls = Scheduler.ClassFor(request, what);
        _classByOptions.AddOrUpdate(options, cls);
        return cls;
    }

    private ResourceSet BuildRequest(TaskOptions o) =>
        Build(o.NumCpus, o.NumGpus, o.MemoryBytes, o.Resources, $"Task {o.Name}");

    private ResourceSet Build(double cpus, double gpus, long memory, IReadOnlyDictionary<string, double>? custom, string what)
    {
        OptionsValidator.Resources(what, cpus, gpus, memory, custom, "options", request: true);
        var request = Scheduler.Registry.Build(cpus, gpus, memory, custom, out var unknown);
        if (unknown is not null)
            throw ExceptionFactory.Unsatisfiable(what, "{" + string.Join(", ", unknown) + "}", Scheduler.FormatTotal());
        return request;
    }

    // ---- objects ----

    internal ObjectRef<T> Put<T>(in T value)
    {
        ThrowIfStopped();
        if (value is ObjectRef)
            ExceptionFactory.ThrowArgument("Put of an ObjectRef is not allowed (as in Ray): pass the ref itself to tasks, or put its value.", nameof(value));
        var entry = Store.CreatePending<T>();
        try
        {
            entry.SetValue(value, "the value passed to Put");
        }
        catch (Exception e)
        {
            entry.Fail(e); // never handed out: complete and free it so the counts stay true
            entry.Release();
            throw;
        }
        return new ObjectRef<T>(entry);
    }

    internal ObjectRef<byte[]> PutBytes(ReadOnlySpan<byte> data) => new(PutBytesEntry(data));

    /// <summary>
    /// A put of raw bytes whose one reference goes to the caller (no handle object). With
    /// <paramref name="nativeMemory"/>, inline bytes are kept in native memory (puts from C).
    /// </summary>
    internal ObjectEntry<byte[]> PutBytesEntry(ReadOnlySpan<byte> data, bool nativeMemory = false)
    {
        ThrowIfStopped();
        var entry = Store.CreatePending<byte[]>();
        try
        {
            if (nativeMemory) entry.SetNativeBytes(data);
            else entry.SetRawBytes(data);
        }
        catch (Exception e)
        {
            entry.Fail(e);
            entry.Release();
            throw;
        }
        return entry;
    }

    internal bool Cancel(ObjectRef objectRef, bool force = false, bool recursive = true)
    {
        var producer = objectRef.Entry.Producer;
        GC.KeepAlive(objectRef);
        // A borrowed ref (its owner is another process): the owner cancels, asked through the raylet.
        if (producer is null) return Ray.Cluster.WorkerSide.BorrowedObjects.TryCancel(objectRef.Entry.Id, force, recursive);
        if (force && producer is SubmittedActorCall)
            ExceptionFactory.ThrowArgument("force cancels tasks only: an actor call cannot be stopped without its actor (kill the actor instead)", nameof(force));
        return CancelTask(producer, force, recursive);
    }

    // A borrower's cancel of one of this runtime's objects (CancelObject): as Cancel here would; an actor call is cancelled, never forced.
    private bool CancelOwned(ObjectEntry entry, bool force, bool recursive) =>
        entry.Producer is { } producer && CancelTask(producer, force && producer is not SubmittedActorCall, recursive);

    /// <summary>
    /// Cancels a task: queued, it never runs; running, its token is signalled (in a worker process
    /// too, through the raylet), or with <paramref name="force"/> what runs it is stopped; with
    /// <paramref name="recursive"/> the tasks it submitted are cancelled the same way (Ray's default).
    /// </summary>
    internal bool CancelTask(SubmittedTask producer, bool force, bool recursive)
    {
        // Where it runs, read first: a cancelled task forgets its producer link.
        var site = producer.IsRunning ? producer.Site : null;
        if (!producer.Cancel()) return false;
        // As Ray's force=True: what runs it is stopped (a worker process: killed, its other tasks retried elsewhere).
        if (force && producer is not SubmittedActorCall) site?.Stop("a task running on it was cancelled with force");
        else site?.RequestCancel(producer);
        if (recursive && producer.TakeChildren() is { } children)
            foreach (var child in children) child.Core.CancelTask(child, force && child is not SubmittedActorCall, recursive: true);
        return true;
    }

    // ---- actors ----

    internal ActorHandle<TActor> CreateActor<TActor>(ActorOptions options, Func<object> factory,
        System.Reflection.ConstructorInfo? ctor = null, object?[]? args = null) where TActor : class
    {
        ThrowIfStopped();
        if (options.MaxConcurrency < 1) ExceptionFactory.ThrowArgument("MaxConcurrency must be at least 1.", nameof(options));
        if (options.Name is { } actorName && string.IsNullOrWhiteSpace(actorName))
            ExceptionFactory.ThrowArgument("An actor's name must not be empty or blank (leave Name null for an unnamed actor).", nameof(options));
        if (options.Namespace is { } actorNs && string.IsNullOrWhiteSpace(actorNs))
            ExceptionFactory.ThrowArgument("An actor's namespace must not be empty or blank (leave Namespace null for the runtime's).", nameof(options));
        if (options.GetIfExists && options.Name is null)
            ExceptionFactory.ThrowArgument("GetIfExists finds an actor by its name: set Name too.", nameof(options));
        if (options.Name is { } existingName && options.GetIfExists && FindActor<TActor>(existingName, options.Namespace, throwIfMissing: false, searchCluster: false) is { } mine)
            return mine; // this runtime's own, alive: no creation, no round trip
        var what = $"Actor {typeof(TActor).Name}";
        OptionsValidator.RetryCount(what, nameof(ActorOptions.MaxRestarts), options.MaxRestarts, nameof(options));
        OptionsValidator.RetryCount(what, nameof(ActorOptions.MaxTaskRetries), options.MaxTaskRetries, nameof(options));
        CheckRuntimeEnv(options.RuntimeEnv, what);
        var request = Build(options.NumCpus, options.NumGpus, options.MemoryBytes, options.Resources, what);
        var placement = PlacementGroups.Place(options.SchedulingStrategy, request, what); // checked against its bundle
        if (placement is null) Scheduler.EnsureFeasible(request, what);
        var ns = options.Namespace ?? Namespace;
        if (!Enum.IsDefined(options.Lifetime)) throw new ArgumentOutOfRangeException(nameof(options), options.Lifetime, "Not an actor lifetime.");
        if (options.Name is { } claimed && ClaimName<TActor>(ns, claimed, options.GetIfExists, options.Lifetime == ActorLifetime.Detached) is { } existing)
            return existing; // another runtime's actor holds the name (GetIfExists)
        var instance = new ActorInstance(this, new ActorId(OwnerId, (ulong)Interlocked.Increment(ref _nextActor)),
            typeof(TActor), options, request, placement) { Namespace = ns };
        try { instance.Transport = Cluster is null ? new LocalActorHost(instance, factory) : new Ray.Cluster.Driver.RemoteActorLink(instance, Cluster, ctor!, args!); }
        catch when (options.Name is { } unclaimed && Cluster is { } claimedOn)
        {
            Ray.Cluster.Driver.RemoteActorNames.Free(claimedOn, ns, unclaimed); // its arguments could not be sent: the name is free again
            throw;
        }
        if (options.Name is { } name && !_named.TryAdd(NameKey(ns, name), instance))
        {
            // Lost a race in this runtime: the winner's actor is the one (GetIfExists), or the name is taken.
            if (options.GetIfExists && FindActor<TActor>(name, ns, throwIfMissing: false, searchCluster: false) is { } winner) return winner;
            throw new ArgumentException($"An actor named '{name}' already exists in namespace '{ns}'.", nameof(options));
        }
        if (Cluster is not null) instance.TrackCreation();
        _actors[instance.Id] = instance;
        placement?.Group.Track(instance); // dies with its group
        // Made by an actor's code in this runtime: it dies with that actor (Ray's owner rule).
        if (options.Lifetime != ActorLifetime.Detached && Workers.WorkerContext.Current?.Actor is { } owner && owner.Core == this) owner.AddChild(instance);
        instance.Start();
        return new ActorHandle<TActor>(instance);
    }

    /// <summary>
    /// A handle to an actor that lives in another worker process, received with a task (a
    /// borrowed handle): its calls go straight to that worker; it neither restarts nor kills the
    /// actor (its owner does).
    /// </summary>
    internal ActorHandle<TActor> AttachActor<TActor>(Ray.Cluster.Wire.ActorAddress address) where TActor : class
    {
        ThrowIfStopped();
        var cluster = Cluster ?? throw new InvalidOperationException("an actor handle from another process needs a connected runtime");
        // One attached actor (one connection to its worker) per actor in this process, however
        // many handles to it arrive; a new one once the old one is dead (its worker gone).
        lock (_attached)
        {
            if (_attached.TryGetValue(address.Id, out var known) && !known.IsDead && known.ActorType == typeof(TActor)
                && known.Transport is Ray.Cluster.Driver.RemoteActorLink { Address: { } current } && current.WorkerSocket == address.WorkerSocket)
                return new ActorHandle<TActor>(known);
            var options = new ActorOptions { MaxConcurrency = address.MaxConcurrency, MaxRestarts = 0, MaxTaskRetries = 0 };
            var instance = new ActorInstance(this, address.Id, typeof(TActor), options, Build(0, 0, 0, null, $"Actor {typeof(TActor).Name}"));
            instance.Transport = Ray.Cluster.Driver.RemoteActorLink.Attached(instance, cluster, address);
            _attached[address.Id] = instance;
            instance.Start();
            return new ActorHandle<TActor>(instance);
        }
    }

    internal void Kill(ActorInstance actor) => Kill(actor, ExceptionFactory.ActorKilled(actor.Id, actor.ActorType.Name));

    /// <summary>Kills the actor's worker process as a crash would: it restarts if it has restarts left.</summary>
    internal void KillForRestart(ActorInstance actor)
    {
        if (actor.Transport is not Ray.Cluster.Driver.RemoteActorLink { IsAttached: false } link)
            throw new NotSupportedException(actor.Transport.IsAttached
                ? $"Actor {actor.ActorType.Name} ({actor.Id}) came from another process: only its owner can restart it."
                : $"Actor {actor.ActorType.Name} ({actor.Id}) runs in this process (an embedded runtime): there is no worker process to kill and restart; use Kill(handle) to end it.");
        link.KillWorker();
    }

    internal void Kill(ActorInstance actor, Exception cause)
    {
        Release(actor);
        actor.Kill(cause);
    }

    internal void OnActorExited(ActorInstance actor) => Release(actor);

    private void Release(ActorInstance actor)
    {
        if (actor.Options.Name is { } name && _named.TryRemove(new KeyValuePair<string, ActorInstance>(NameKey(actor.Namespace!, name), actor)))
            FreeClusterName(actor);
        _actors.TryRemove(actor.Id, out _);
    }

    internal int ActorsAlive => _actors.Count;

    // ---- stats and shutdown ----

    internal RuntimeStats Snapshot()
    {
        var (total, available) = Scheduler.Snapshot();
        var plasma = Store.LargeObjects.Stats;
        return new RuntimeStats
        {
            SharedMemoryUsedBytes = plasma?.UsedBytes ?? 0,
            SharedMemoryObjects = plasma?.Objects ?? 0,
            SpilledBytes = plasma?.SpilledBytes ?? 0,
            RestoredBytes = plasma?.RestoredBytes ?? 0,
            TasksSubmitted = Stats.Submitted,
            TasksFinished = Stats.Finished,
            TasksFailed = Stats.Failed,
            TasksRetried = Stats.Retried,
            TasksCancelled = Stats.Cancelled,
            TasksQueued = Scheduler.ReadyCount,
            ObjectsCreated = Store.Created,
            ObjectsFreed = Store.Freed,
            ObjectBytesLive = Store.LiveBytes,
            ActorsAlive = ActorsAlive,
            Workers = Pool.WorkerCount,
            WorkersBlocked = Pool.BlockedCount,
            ResourcesTotal = ToDictionary(total),
            ResourcesAvailable = ToDictionary(available),
        };
    }

    internal Dictionary<string, double> ToDictionary(ResourceSet set, bool dropZeros = false)
    {
        var d = new Dictionary<string, double>(StringComparer.Ordinal);
        for (var i = 0; i < set.Amounts.Length; i++)
        {
            if (dropZeros && set.Amounts[i] == 0) continue;
            var name = Scheduler.Registry.NameOf(i);
            d[name] = ResourceUnits.ToAmount(name, set.Amounts[i]);
        }
        return d;
    }

    public void Dispose()
    {
        if (_stopped) return;
        _stopped = true;
        // Queued tasks fail first (so parents blocked on them resume), and tasks that become
        // ready later fail instead of queueing; then workers stop; only then are actors killed,
        // since freeing their resources must not start anything.
        Scheduler.Stop();
        Pool.Dispose();
        Scheduler.DrainAll();
        var actors = _actors.Values.ToArray();
        foreach (var actor in actors)
        {
            // A detached actor in a worker process outlives its driver: let go of it, do not end it.
            if (actor.Options.Lifetime == ActorLifetime.Detached && actor.Transport is Ray.Cluster.Driver.RemoteActorLink link) link.LetGo = true;
            actor.Kill(ExceptionFactory.ActorShutdown(actor.Id, actor.ActorType.Name));
        }
        // One deadline for all: actors end in parallel (a killed actor's thread leaves at once
        // unless its user code still runs, which cannot be interrupted).
        var joinUntil = System.Diagnostics.Stopwatch.GetTimestamp() + 2 * System.Diagnostics.Stopwatch.Frequency;
        foreach (var actor in actors)
            actor.Join(TimeSpan.FromSeconds(Math.Max(0, (joinUntil - System.Diagnostics.Stopwatch.GetTimestamp()) / (double)System.Diagnostics.Stopwatch.Frequency)));
        Store.LargeObjects.Dispose();
        Cluster?.Dispose(); // the raylet ends the job: its workers and leases go
        Log.Stopped(Logger, OwnerId);
    }
}
