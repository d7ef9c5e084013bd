using Ray.Actors;
using Ray.Tasks;

namespace Ray.PlacementGroups;

/// <summary>
/// One placement group as this runtime knows it: its bundles (a ledger per bundle embedded; in
/// a connected runtime the raylet holds the reservation and these only answer feasibility), its
/// state, and the work placed into it, so removal can fail and kill what it holds.
/// </summary>
internal sealed class PlacementGroupEntry
{
    private const int Pending = 0, Created = 1, Removed = 2;

    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly HashSet<SubmittedTask> _tasks = new(ReferenceEqualityComparer.Instance);
    private readonly List<ActorInstance> _actors = new();
    private int _state;
    private int _pruneAt = 64;
    private Func<Task>? _remoteWait; // a group found by name in a connected runtime: asks the raylet once

    internal PlacementGroupEntry(PlacementGroupId id, string? name, PlacementStrategy strategy, PlacementGroupLifetime lifetime,
        IReadOnlyList<IReadOnlyDictionary<string, double>> specs, PlacementBundles bundles, bool owned)
    {
        Id = id;
        Name = name;
        Strategy = strategy;
        Lifetime = lifetime;
        BundleSpecs = specs;
        Bundles = bundles;
        Owned = owned;
    }

    internal PlacementGroupId Id { get; }
    internal string? Name { get; }
    internal PlacementStrategy Strategy { get; }
    internal PlacementGroupLifetime Lifetime { get; }
    internal IReadOnlyList<IReadOnlyDictionary<string, double>> BundleSpecs { get; }

    /// <summary>The bundles' ledgers, guarded by the embedded scheduler's lock.</summary>
    internal PlacementBundles Bundles { get; }

    /// <summary>Made by this runtime (not found by name): its lifetime is this job's unless detached.</summary>
    internal bool Owned { get; }

    internal PlacementGroupState State => (PlacementGroupState)Volatile.Read(ref _state);

    internal bool IsRemoved => Volatile.Read(ref _state) == Removed;

    /// <summary>Why work placed here fails once the group is removed.</summary>
    internal PlacementGroupRemovedException RemovedError() =>
        new(Id, $"Placement group {Describe()} was removed: work placed into it fails, and nothing more can be placed into it.");

    internal Task ReadyAsync()
    {
        if (IsRemoved) return Task.FromException(RemovedError()); // also when it was created before
        if (Interlocked.Exchange(ref _remoteWait, null) is { } wait)
        {
            _ = wait().ContinueWith(static (t, s) =>
            {
                var e = (PlacementGroupEntry)s!;
                if (t.IsCompletedSuccessfully) e.MarkCreated();
                else if (t.Exception?.InnerException is PlacementGroupRemovedException) e.MarkRemoved();
                else e._ready.TrySetException(t.Exception!.InnerExceptions);
            }, this, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
        return _ready.Task;
    }

    /// <summary>For a pending group found by name: how to wait for its creation, asked on the first Ready.</summary>
    internal void WaitThrough(Func<Task> remoteWait) => _remoteWait = remoteWait;

    /// <summary>The raylet refused the group (or the link failed) before it was created: Ready faults with that.</summary>
    internal void Fail(Exception error)
    {
        if (Interlocked.CompareExchange(ref _state, Removed, Pending) == Pending) _ready.TrySetException(error);
    }

    /// <summary>Pending to created; false when it was removed first.</summary>
    internal bool MarkCreated()
    {
        if (Interlocked.CompareExchange(ref _state, Created, Pending) != Pending) return false;
        _ready.TrySetResult();
        return true;
    }

    /// <summary>To removed (once); true for the call that removed it.</summary>
    internal bool MarkRemoved()
    {
        if (Interlocked.Exchange(ref _state, Removed) == Removed) return false;
        _ready.TrySetException(RemovedError());
        return true;
    }

    /// <summary>A task submitted into this group: failed if the group is removed before it ends.</summary>
    internal void Track(SubmittedTask task)
    {
        lock (_tasks)
        {
            if (_tasks.Count >= _pruneAt)
            {
                _tasks.RemoveWhere(static t => t.IsFinished);
                _pruneAt = Math.Max(64, _tasks.Count * 2);
            }
            _tasks.Add(task);
        }
    }

    /// <summary>An actor placed into this group: killed when the group is removed.</summary>
    internal void Track(ActorInstance actor)
    {
        lock (_tasks) _actors.Add(actor);
    }

    /// <summary>The work placed here that may still run (taken once, at removal).</summary>
    internal (SubmittedTask[] Tasks, ActorInstance[] Actors) TakePlaced()
    {
        lock (_tasks)
        {
            var tasks = _tasks.Where(static t => !t.IsFinished).ToArray();
            var actors = _actors.Where(static a => !a.IsDead).ToArray();
            _tasks.Clear();
            _actors.Clear();
            return (tasks, actors);
        }
    }

    internal PlacementGroupInfo Info() => new(Id, Name, State, Strategy, Lifetime, BundleSpecs);

    internal string Describe() => Name is null ? Id.ToString() : $"'{Name}' ({Id})";
}

/// <summary>Where a task or actor is placed: a group, a bundle (or -1 for any), and whether its children follow it.</summary>
internal readonly record struct BundlePlacement(PlacementGroupEntry Group, int Bundle, bool Capture);
