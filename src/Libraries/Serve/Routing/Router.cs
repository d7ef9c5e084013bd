using System.Diagnostics;
using Ray.Serve.Replica;

namespace Ray.Serve.Routing;

/// <summary>
/// Sends requests for one deployment to its replicas (Ray's PowerOfTwoChoicesRequestRouter):
/// picks two replicas at random and takes the one with the shorter queue; a replica at
/// MaxOngoingRequests refuses and the request is tried again after a backoff (or as soon as one
/// of this router's requests finishes). A request that finds every replica full waits in this
/// router's queue; past MaxQueuedRequests it fails at once with <see cref="BackPressureException"/>.
/// A replica that dies with the request on it fails that request with <see cref="ReplicaDiedException"/>;
/// a replica already known dead is skipped and the request goes elsewhere.
/// </summary>
internal sealed class Router
{
    private static readonly TimeSpan s_noReplicasLimit = TimeSpan.FromSeconds(30);

    private readonly object _lock = new();
    private readonly Dictionary<string, ReplicaSlot> _known = new(StringComparer.Ordinal);
    private string[]? _members;
    private volatile ReplicaSlot[] _slots = [];
    private volatile RouteInfo? _info;
    private volatile string? _closed;
    private int _queued;
    private int _waiters;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    internal Router(string key)
    {
        Key = key;
        Name = key[(key.LastIndexOf(':') + 1)..];
    }

    internal string Key { get; }
    internal string Name { get; }

    /// <summary>Requests waiting for a free replica now.</summary>
    internal int Queued => Volatile.Read(ref _queued);

    /// <summary>This router's requests running on replicas now.</summary>
    internal int InFlight => _slots.Sum(s => Volatile.Read(ref s.InFlight));

    internal IReadOnlyList<ReplicaSlot> Slots => _slots;

    /// <summary>Driver side: the replicas to route to now (slots of replicas kept keep their counters).</summary>
    internal void Update(RouteInfo info, IReadOnlyList<(string Id, ActorHandle<ReplicaActor> Handle)> replicas)
    {
        lock (_lock)
        {
            _info = info;
            var old = _slots.ToDictionary(s => s.Id, StringComparer.Ordinal);
            _slots = replicas.Select(r => old.TryGetValue(r.Id, out var s) ? s : new ReplicaSlot(r.Id, r.Handle)).ToArray();
        }
        Pulse(force: true);
    }

    /// <summary>Worker side: a replica's handle arrived (it is routed to once it is also a member).</summary>
    internal void AddKnown(RouteInfo info, ActorHandle<ReplicaActor> replica)
    {
        lock (_lock)
        {
            _info = info;
            var id = replica.Id.ToString();
            if (!_known.ContainsKey(id)) _known[id] = new ReplicaSlot(id, replica);
            Rebuild();
        }
        Pulse(force: true);
    }

    /// <summary>Worker side: the members to route to now. Pushes may arrive in any order, so the slots are members whose handle is known.</summary>
    internal void SetMembers(string[] ids)
    {
        lock (_lock)
        {
            _members = ids;
            foreach (var gone in _known.Keys.Except(ids).ToList()) _known.Remove(gone);
            Rebuild();
        }
        Pulse(force: true);
    }

    private void Rebuild() =>
        _slots = _members is null ? [] : _members.Where(_known.ContainsKey).Select(id => _known[id]).ToArray();

    /// <summary>The deployment was deleted: waiting and later requests fail with <see cref="DeploymentUnavailableException"/>.</summary>
    internal void Close(string reason)
    {
        _closed = reason;
        Pulse(force: true);
    }

    /// <summary>Sends <paramref name="call"/> to a replica and returns its result bytes.</summary>
    internal async Task<byte[]> CallAsync(ReplicaCall call, CancellationToken cancellationToken)
    {
        ServeMetrics.RouterRequest(Name);
        var queued = false;
        var attempt = 0;
        var started = Stopwatch.GetTimestamp();
        try
        {
            while (true)
            {
                if (_closed is { } why) throw new DeploymentUnavailableException(Name, why);
                cancellationToken.ThrowIfCancellationRequested();
                var slot = Choose();
                if (slot is null)
                {
                    if (!queued) queued = EnterQueue();
                    if (_slots.Length == 0 && Stopwatch.GetElapsedTime(started) > s_noReplicasLimit)
                        throw new DeploymentUnavailableException(Name, $"no running replica for {s_noReplicasLimit.TotalSeconds:0} s");
                    await WaitAsync(attempt++, cancellationToken).ConfigureAwait(false);
                    continue;
                }
                var wasAlive = slot.Handle.IsAlive;
                ReplicaReply reply;
                try
                {
                    var result = slot.Method.Remote(call);
                    try { reply = await result; }
                    finally { result.Dispose(); }
                }
                catch (ActorDiedException e)
                {
                    Release(slot);
                    Drop(slot);
                    if (!wasAlive) continue; // it was dead before the request was sent: the request never ran
                    throw new ReplicaDiedException(Name, slot.Id, e);
                }
                catch
                {
                    Release(slot);
                    throw;
                }
                Release(slot);
                slot.Report(reply.Ongoing, reply.Status == ReplyStatus.Rejected);
                switch (reply.Status)
                {
                    case ReplyStatus.Ok:
                        return reply.Payload;
                    case ReplyStatus.UserError:
                        throw new DeploymentException(Name, reply.ErrorType ?? "Exception", reply.ErrorMessage ?? "", reply.ErrorStack);
                    default:
                        if (!queued) queued = EnterQueue();
                        await WaitAsync(attempt++, cancellationToken).ConfigureAwait(false);
                        continue;
                }
            }
        }
        finally
        {
            if (queued)
            {
                Interlocked.Decrement(ref _queued);
                ServeMetrics.Queued(Name, -1);
            }
        }
    }

    // Counts the request as queued; refuses it when the queue is full (the caller's finally undoes the count).
    private bool EnterQueue()
    {
        var q = Interlocked.Increment(ref _queued);
        ServeMetrics.Queued(Name, 1);
        var max = _info?.MaxQueuedRequests ?? -1;
        if (max >= 0 && q > max)
        {
            Interlocked.Decrement(ref _queued);
            ServeMetrics.Queued(Name, -1);
            throw new BackPressureException(Name, q - 1, max);
        }
        return true;
    }

    private ReplicaSlot? Choose()
    {
        var s = _slots;
        var n = s.Length;
        if (n == 0) return null;
        var max = _info?.MaxOngoingRequests ?? 1;
        var now = Stopwatch.GetTimestamp();
        ReplicaSlot? best;
        if (n == 1) best = s[0].Load(now) < max ? s[0] : null;
        else
        {
            // Power of two choices: two distinct random replicas, the less loaded one.
            var i = Random.Shared.Next(n);
            var j = Random.Shared.Next(n - 1);
            if (j >= i) j++;
            int la = s[i].Load(now), lb = s[j].Load(now);
            var (pick, load) = la <= lb ? (s[i], la) : (s[j], lb);
            best = load < max ? pick : null;
            if (best is null)
            {
                // Both were full: any replica with room, from a random start, before queueing.
                var start = Random.Shared.Next(n);
                for (var k = 0; k < n && best is null; k++)
                    if (s[(start + k) % n].Load(now) < max) best = s[(start + k) % n];
            }
        }
        if (best is not null) Interlocked.Increment(ref best.InFlight);
        return best;
    }

    private void Release(ReplicaSlot slot)
    {
        Interlocked.Decrement(ref slot.InFlight);
        Pulse(force: false);
    }

    private void Drop(ReplicaSlot dead)
    {
        lock (_lock)
        {
            _slots = _slots.Where(s => s != dead).ToArray();
            _known.Remove(dead.Id);
        }
    }

    // Wakes queued requests: when a slot frees up (only if someone waits) or the replicas change.
    private void Pulse(bool force)
    {
        if (!force && Volatile.Read(ref _waiters) == 0) return;
        var old = Interlocked.Exchange(ref _changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        old.TrySetResult();
    }

    // Backoff after a refusal or when every replica is full: 1, 2, 4 .. 50 ms, cut short when
    // one of this router's requests finishes or the replicas change.
    private async Task WaitAsync(int attempt, CancellationToken cancellationToken)
    {
        var signal = Volatile.Read(ref _changed).Task;
        Interlocked.Increment(ref _waiters);
        try
        {
            var delay = TimeSpan.FromMilliseconds(Math.Min(50, 1 << Math.Min(attempt, 6)));
            await signal.WaitAsync(delay, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException) { }
        finally { Interlocked.Decrement(ref _waiters); }
    }
}
