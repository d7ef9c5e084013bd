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

    private readonly ConcurrentDictionary<string, ActorInstance> _named = new(StringComparer.Ordinal);
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
    internal static void ValidateOptions(RuntimeOptions options) =>
        OptionsValidator.Resources(nameof(RuntimeOptions), options.NumCpus ?? 0, options.NumGpus ?? 0, options.MemoryBytes ?? 0, options.Resources, nameof(options));

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
    internal LocalScheduler Scheduler { get; }
    internal MemoryStore Store { get; }
    internal IWorkerPool Pool { get; }
    internal StatsCounters Stats { get; } = new();
    internal SchedulingClass DefaultClass { get; }
    internal SchedulingClass ActorClass { get; }
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
            if (options is not null) ReturnCount.Check(options.NumReturns, returns, options.Name ?? fn.Name);
        }
        catch
        {
            spec.AbandonArguments();
            throw;
        }
        var result = Store.CreatePending<TR>();
        spec.Init(NewTaskId(), cls, options ?? TaskOptions.Default, options?.Name ?? fn.Name, result, fn);
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
        cls = Scheduler.ClassFor(Build(options.NumCpus, options.NumGpus, options.MemoryBytes, options.Resources, what), what);
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

    internal bool Cancel(ObjectRef objectRef, bool force = false)
    {
        var producer = objectRef.Entry.Producer;
        GC.KeepAlive(objectRef);
        if (producer is null) return false;
        if (force && producer is SubmittedActorCall)
            ExceptionFactory.ThrowArgument("force cancels tasks only: an actor call cannot be stopped without its actor (kill the actor instead)", nameof(force));
        // Where it runs, read first: a cancelled task forgets its producer link.
        var site = force && producer.IsRunning ? producer.Site : null;
        if (!producer.Cancel()) return false;
        // As Ray's force=True: what runs it is stopped (a worker process: killed, its other tasks retried elsewhere).
        site?.Stop("a task running on it was cancelled with force");
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
        var what = $"Actor {typeof(TActor).Name}";
        OptionsValidator.RetryCount(what, nameof(ActorOptions.MaxRestarts), options.MaxRestarts, nameof(options));
        OptionsValidator.RetryCount(what, nameof(ActorOptions.MaxTaskRetries), options.MaxTaskRetries, nameof(options));
        var request = Build(options.NumCpus, options.NumGpus, options.MemoryBytes, options.Resources, what);
        Scheduler.EnsureFeasible(request, what);
        var instance = new ActorInstance(this, new ActorId(OwnerId, (ulong)Interlocked.Increment(ref _nextActor)),
            typeof(TActor), options, request);
        instance.Transport = Cluster is null ? new LocalActorHost(instance, factory) : new Ray.Cluster.Driver.RemoteActorLink(instance, Cluster, ctor!, args!);
        if (options.Name is { } name && !_named.TryAdd(name, instance))
            throw new ArgumentException($"An actor named '{name}' already exists.", nameof(options));
        if (Cluster is not null) instance.TrackCreation();
        _actors[instance.Id] = instance;
        // Made by an actor's code in this runtime: it dies with that actor (Ray's owner rule).
        if (Workers.WorkerContext.Current?.Actor is { } owner && owner.Core == this) owner.AddChild(instance);
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

    internal ActorHandle<TActor>? FindActor<TActor>(string name, bool throwIfMissing) where TActor : class
    {
        if (!_named.TryGetValue(name, out var instance) || instance.IsDead)
            return throwIfMissing ? throw ExceptionFactory.ActorNotFound(name) : null;
        if (instance.ActorType != typeof(TActor))
            throw ExceptionFactory.ActorWrongType(name, instance.ActorType, typeof(TActor));
        return new ActorHandle<TActor>(instance);
    }

    internal void Kill(ActorInstance actor) => Kill(actor, ExceptionFactory.ActorKilled(actor.Id, actor.ActorType.Name));

    internal void Kill(ActorInstance actor, Exception cause)
    {
        Release(actor);
        actor.Kill(cause);
    }

    internal void OnActorExited(ActorInstance actor) => Release(actor);

    private void Release(ActorInstance actor)
    {
        if (actor.Options.Name is { } name) _named.TryRemove(new KeyValuePair<string, ActorInstance>(name, actor));
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

    internal Dictionary<string, double> ToDictionary(ResourceSet set)
    {
        var d = new Dictionary<string, double>(StringComparer.Ordinal);
        for (var i = 0; i < set.Amounts.Length; i++)
        {
            var name = Scheduler.Registry.NameOf(i);
            d[name] = name == ResourceRegistry.Memory ? set.Amounts[i] / ResourceUnits.Unit : set.Amounts[i] / (double)ResourceUnits.Unit;
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
        foreach (var actor in actors) actor.Kill(ExceptionFactory.ActorShutdown(actor.Id, actor.ActorType.Name));
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
