using System.Collections.Concurrent;
using System.Globalization;
using Ray.Scheduling;
using Ray.Workers;

namespace Ray.PlacementGroups;

/// <summary>
/// The placement groups of one runtime: creation (validated here in both modes; reserved by the
/// embedded scheduler, or by the raylet in a connected runtime), lookup by name, the table,
/// removal (what was placed into a group fails or dies), and where a task or actor goes
/// (<see cref="Place"/>, with Ray's capture of child tasks).
/// </summary>
internal sealed class PlacementGroupManager(Runtime.RuntimeCore core)
{
    private readonly ConcurrentDictionary<PlacementGroupId, PlacementGroupEntry> _groups = new();
    private readonly ConcurrentDictionary<string, PlacementGroupEntry> _names = new(StringComparer.Ordinal);
    private long _next;
    private volatile bool _anyCapture; // some class captures child tasks: submissions check their context

    internal PlacementGroupEntry Create(IReadOnlyList<IReadOnlyDictionary<string, double>> bundles, PlacementStrategy strategy, string? name, PlacementGroupLifetime lifetime)
    {
        core.ThrowIfStopped();
        ArgumentNullException.ThrowIfNull(bundles);
        if (bundles.Count == 0) ExceptionFactory.ThrowArgument("A placement group needs at least one bundle.", nameof(bundles));
        if (bundles.Count > Ray.Contract.Messages.ClusterCodec.MaxBundles)
            ExceptionFactory.ThrowArgument($"A placement group has at most {Ray.Contract.Messages.ClusterCodec.MaxBundles} bundles, not {bundles.Count}.", nameof(bundles));
        if (!Enum.IsDefined(strategy)) throw new ArgumentOutOfRangeException(nameof(strategy), strategy, "Not a placement strategy.");
        if (!Enum.IsDefined(lifetime)) throw new ArgumentOutOfRangeException(nameof(lifetime), lifetime, "Not a placement group lifetime.");
        if (name is not null && string.IsNullOrWhiteSpace(name))
            ExceptionFactory.ThrowArgument("A placement group's name must not be empty or blank (leave it null for an unnamed group).", nameof(name));
        var what = name is null ? "A placement group" : $"Placement group '{name}'";
        var specs = new IReadOnlyDictionary<string, double>[bundles.Count];
        var sets = new ResourceSet[bundles.Count];
        for (var i = 0; i < bundles.Count; i++)
        {
            (specs[i], sets[i]) = BundleRequest(bundles[i], $"{what}, bundle {i},");
        }
        var placed = new PlacementBundles(core.Scheduler.Registry.Names, sets);
        if (!core.Scheduler.IsFeasible(placed.Sum))
            throw ExceptionFactory.Unsatisfiable(what, core.Scheduler.Registry.Format(placed.Sum), core.Scheduler.FormatTotal());
        if (strategy == PlacementStrategy.StrictSpread && bundles.Count > 1)
            throw new ResourcesUnsatisfiableException($"{what} is STRICT_SPREAD over {bundles.Count} bundles: it needs {bundles.Count} nodes, and this {(core.Cluster is null ? "embedded runtime is one node" : "cluster has one node")}; it could never be created.");
        var id = new PlacementGroupId(core.OwnerId, (ulong)Interlocked.Increment(ref _next));
        var entry = new PlacementGroupEntry(id, name, strategy, lifetime, specs, placed, owned: true);
        if (name is not null && core.Cluster is null && !_names.TryAdd(name, entry))
            throw new ArgumentException($"A placement group named '{name}' already exists.", nameof(name));
        if (core.Cluster is { } cluster)
        {
            // The raylet reserves (and owns the name table, shared by every driver); its reply says
            // created or pending. A named group waits for it, so a name taken by another driver
            // fails here; an unnamed one returns at once (Ray's placement_group() does not wait
            // either): many can be in flight, and Ready completes from the reply.
            if (name is not null)
            {
                var created = Cluster.Driver.RemotePlacementGroups.Create(cluster, entry, core.Scheduler.Registry);
                _names[name] = entry;
                if (created) entry.MarkCreated();
                else entry.WaitThrough(() => Cluster.Driver.RemotePlacementGroups.WaitAsync(cluster, entry));
            }
            else
            {
                Cluster.Driver.RemotePlacementGroups.CreateAsync(cluster, entry, core.Scheduler.Registry).ContinueWith(static (t, s) =>
                {
                    var (e, session, groups) = ((PlacementGroupEntry, Cluster.Driver.ClusterSession, ConcurrentDictionary<PlacementGroupId, PlacementGroupEntry>))s!;
                    if (!t.IsCompletedSuccessfully)
                    {
                        e.Fail(t.Exception?.InnerException ?? new OperationCanceledException());
                        groups.TryRemove(e.Id, out _); // never made: nothing to remove later
                    }
                    else if (t.Result) e.MarkCreated();
                    else
                    {
                        e.WaitThrough(() => Cluster.Driver.RemotePlacementGroups.WaitAsync(session, e));
                        _ = e.ReadyAsync(); // starts the wait now
                    }
                }, (entry, cluster, _groups), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }
        }
        _groups[id] = entry;
        if (core.Cluster is null) core.Scheduler.Reserve(entry);
        return entry;
    }

    // A bundle's request: validated like a task's; "CPU", "GPU", "memory" (bytes) and custom names.
    private (IReadOnlyDictionary<string, double>, ResourceSet) BundleRequest(IReadOnlyDictionary<string, double> bundle, string what)
    {
        ArgumentNullException.ThrowIfNull(bundle);
        var (cpus, gpus, memory, custom) = ResourceRegistry.Split(bundle);
        if (memory < 0 || memory != Math.Floor(memory) || double.IsInfinity(memory))
            ExceptionFactory.ThrowArgument($"{what} asks for {memory.ToString(CultureInfo.InvariantCulture)} bytes of memory; memory is a whole number of bytes.", "bundles");
        Runtime.OptionsValidator.Resources(what, cpus, gpus, (long)memory, custom, "bundles", request: true);
        var set = core.Scheduler.Registry.Build(cpus, gpus, (long)memory, custom, out var unknown);
        if (unknown is not null)
            throw ExceptionFactory.Unsatisfiable(what, "{" + string.Join(", ", unknown) + "}", core.Scheduler.FormatTotal());
        if (set.IsZero) ExceptionFactory.ThrowArgument($"{what} asks for nothing; each bundle needs some resource.", "bundles");
        return (new Dictionary<string, double>(bundle, StringComparer.Ordinal), set);
    }

    /// <summary>
    /// Removes a group: nothing more can be placed into it, its queued and running tasks fail
    /// with <see cref="PlacementGroupRemovedException"/>, its actors die, its resources go back.
    /// Idempotent.
    /// </summary>
    internal void Remove(PlacementGroupEntry group)
    {
        if (!group.MarkRemoved()) return;
        _groups.TryRemove(group.Id, out _);
        if (group.Name is { } name) _names.TryRemove(new KeyValuePair<string, PlacementGroupEntry>(name, group));
        // In a connected runtime the raylet holds the reservation and kills the workers leased
        // in the group; here the driver's queues are drained and what it placed is failed.
        if (core.Cluster is { } cluster) Cluster.Driver.RemotePlacementGroups.Remove(cluster, group.Id);
        core.Scheduler.Remove(group);
        var (tasks, actors) = group.TakePlaced();
        var error = group.RemovedError();
        foreach (var a in actors) core.Kill(a, ExceptionFactory.ActorPlacementGroupRemoved(a.Id, a.ActorType.Name, error));
        foreach (var t in tasks) t.Abort(error);
    }

    /// <summary>The live group named <paramref name="name"/>: this runtime's, else (connected) any driver's on the raylet.</summary>
    internal PlacementGroupEntry? Find(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (_names.TryGetValue(name, out var mine) && !mine.IsRemoved) return mine;
        if (core.Cluster is not { } cluster) return null;
        var found = Cluster.Driver.RemotePlacementGroups.Find(cluster, name, core.Scheduler.Registry);
        if (found is null) return null;
        return _groups.GetOrAdd(found.Id, found);
    }

    /// <summary>Every live group: this runtime's embedded; the raylet's (every driver's) when connected.</summary>
    internal IReadOnlyList<PlacementGroupInfo> Table() =>
        core.Cluster is { } cluster
            ? Cluster.Driver.RemotePlacementGroups.Table(cluster, core.Scheduler.Registry)
            : _groups.Values.Select(static g => g.Info()).OrderBy(static i => i.Id.Sequence).ToList();

    /// <summary>
    /// Where a task or actor with <paramref name="strategy"/> goes: its bundle placement, checked
    /// (the bundle exists, the request fits it, the group is live); null for no placement, or
    /// the group of the running task when that one captures its children (as Ray).
    /// </summary>
    internal BundlePlacement? Place(SchedulingStrategy? strategy, ResourceSet request, string what)
    {
        if (strategy is null) return Captured(request, what);
        if (strategy is not PlacementGroupSchedulingStrategy pgs)
            throw new ArgumentException($"{what}: unknown scheduling strategy {strategy.GetType().Name}.", "options");
        ArgumentNullException.ThrowIfNull(pgs.PlacementGroup, "options.SchedulingStrategy.PlacementGroup");
        var group = pgs.PlacementGroup.Entry;
        if (pgs.BundleIndex < -1 || pgs.BundleIndex >= group.Bundles.Count)
            throw new ArgumentOutOfRangeException("options", pgs.BundleIndex,
                $"{what}: placement group {group.Describe()} has {group.Bundles.Count} bundle(s), indexed from 0 (-1: any); there is no bundle {pgs.BundleIndex}.");
        Check(group, pgs.BundleIndex, request, what);
        if (pgs.CaptureChildTasks) _anyCapture = true;
        return new BundlePlacement(group, pgs.BundleIndex, pgs.CaptureChildTasks);
    }

    private BundlePlacement? Captured(ResourceSet request, string what)
    {
        BundlePlacement? parent = null;
        if (WorkerContext.Current is { } context)
        {
            if (!_anyCapture) return null;
            parent = context.CurrentTask?.Class.Placement ?? context.Actor?.Placement;
        }
        else if (Cluster.WorkerSide.WorkerSession.InTask
                 && Cluster.WorkerSide.WorkerSession.CurrentContext is { Placement: { } lp, CaptureChildTasks: true })
        {
            // A task in a worker process placed with CaptureChildTasks: its children go into the
            // same group, which the worker's nested driver finds on the raylet by id.
            var group = ById(new PlacementGroupId(lp.Owner, lp.Sequence)) ?? throw new PlacementGroupRemovedException(new PlacementGroupId(lp.Owner, lp.Sequence),
                $"Placement group pg-{lp.Owner:x}-{lp.Sequence:x}, which this task captures its children into, was removed.");
            parent = new BundlePlacement(group, -1, true);
        }
        if (parent is not { Capture: true } p) return null;
        Check(p.Group, -1, request, what + " (submitted from a task that captures its children into its placement group)");
        return p with { Bundle = -1 };
    }

    private PlacementGroupEntry? ById(PlacementGroupId id)
    {
        if (_groups.TryGetValue(id, out var known)) return known.IsRemoved ? null : known;
        if (core.Cluster is not { } cluster) return null;
        var found = Cluster.Driver.RemotePlacementGroups.Find(cluster, id, core.Scheduler.Registry);
        return found is null ? null : _groups.GetOrAdd(id, found);
    }

    private void Check(PlacementGroupEntry group, int bundle, ResourceSet request, string what)
    {
        if (group.IsRemoved) throw group.RemovedError();
        if (!group.Bundles.IsFeasible(bundle, request))
            throw new ResourcesUnsatisfiableException(
                $"{what} requests {core.Scheduler.Registry.Format(request)}, which does not fit {(bundle >= 0 ? $"bundle {bundle} ({core.Scheduler.Registry.Format(group.Bundles.Demand(bundle))})" : "any bundle")} of placement group {group.Describe()}; it could never be scheduled there.");
    }

    /// <summary>True when some group captures child tasks (submissions then look at their context).</summary>
    internal bool AnyCapture => _anyCapture || Cluster.WorkerSide.WorkerSession.IsWorkerProcess;
}
