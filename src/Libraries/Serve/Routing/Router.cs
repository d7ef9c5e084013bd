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
internal sealed partial class Router
{
    private static readonly TimeSpan s_noReplicasLimit = TimeSpan.FromSeconds(30);

    private readonly object _lock = new();
    private readonly Dictionary<string, ReplicaSlot> _known = new(StringComparer.Ordinal);
    private string[]? _members;
    private volatile ReplicaSlot[] _slots = [];
    private volatile RouteInfo? _info;
    private volatile string? _closed;
    private int _queued;
    // Requests waiting for room, oldest first: a finished request wakes one, a change of replicas all.
    private readonly System.Collections.Concurrent.ConcurrentQueue<TaskCompletionSource<bool>> _waiting = new();

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
        WakeAll();
    }

    /// <summary>Driver side: the controller is stopping this replica (before it leaves the routes).</summary>
    internal void Retire(string id)
    {
        foreach (var s in _slots) if (s.Id == id) s.Retired = true;
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
        WakeAll();
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
        WakeAll();
    }

    private void Rebuild() =>
        _slots = _members is null ? [] : _members.Where(_known.ContainsKey).Select(id => _known[id]).ToArray();

    /// <summary>The deployment was deleted: waiting and later requests fail with <see cref="DeploymentUnavailableException"/>.</summary>
    internal void Close(string reason)
    {
        _closed = reason;
        WakeAll();
    }

    /// <summary>Sends <paramref name="call"/> to a replica and returns its result bytes.</summary>
    /// <param name="call">The request.</param>
    /// <param name="synchronous">The user method returns its value directly: the replica runs it on an actor thread.</param>
    /// <param name="cancellationToken">Stops waiting for a replica (a request already on one goes on).</param>
    internal async Task<byte[]> CallAsync(ReplicaCall call, bool synchronous, CancellationToken cancellationToken) =>
        (await SendAsync(call, synchronous ? CallKind.Sync : CallKind.Async, cancellationToken).ConfigureAwait(false)).Reply.Payload;

    /// <summary>Which of the replica's request methods a call goes to.</summary>
    private enum CallKind { Async, Sync, Stream }

    // Routes one call; returns the replica that took it and its reply. A stream keeps its slot
    // counted (InFlight) after an Ok reply: the caller releases it when the stream ends.
    private async Task<(ReplicaSlot Slot, ReplicaReply Reply)> SendAsync(ReplicaCall call, CallKind kind, CancellationToken cancellationToken)
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
                    await WaitAsync(attempt++, cancellationToken, timed: !AllFullHere()).ConfigureAwait(false);
                    continue;
                }
                var wasAlive = slot.Handle.IsAlive;
                ReplicaReply reply;
                try
                {
                    var result = kind switch
                    {
                        CallKind.Sync => slot.SyncMethod.Remote(call),
                        CallKind.Stream => slot.Handle.Task((ReplicaActor r, ReplicaCall c) => r.StartStreamAsync(c)).Remote(call),
                        _ => slot.Method.Remote(call),
                    };
                    try { reply = await result; }
                    finally { result.Dispose(); }
                }
                catch (ActorDiedException e)
                {
                    Release(slot);
                    Drop(slot);
                    // Dead before the request was sent, or stopped on purpose (a draining replica runs
                    // nothing new): the request never ran, so it goes to another replica.
                    if (!wasAlive || slot.Retired) continue;
                    throw new ReplicaDiedException(Name, slot.Id, e);
                }
                catch
                {
                    Release(slot);
                    throw;
                }
                if (kind != CallKind.Stream || reply.Status != ReplyStatus.Ok) Release(slot);
                slot.Report(reply.Ongoing, reply.Status == ReplyStatus.Rejected);
                switch (reply.Status)
                {
                    case ReplyStatus.Ok:
                        return (slot, reply);
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

    internal void Release(ReplicaSlot slot)
    {
        Interlocked.Decrement(ref slot.InFlight);
        WakeOne();
    }

    private void Drop(ReplicaSlot dead)
    {
        lock (_lock)
        {
            _slots = _slots.Where(s => s != dead).ToArray();
            _known.Remove(dead.Id);
        }
    }

    // A slot freed up: the oldest waiter tries again (waiters that timed out are skipped).
    private void WakeOne()
    {
        while (_waiting.TryDequeue(out var w))
            if (w.TrySetResult(true)) return;
    }

    // The replicas changed (or the router closed): every waiter looks again.
    private void WakeAll()
    {
        while (_waiting.TryDequeue(out var w)) w.TrySetResult(true);
    }

    private bool HasRoom()
    {
        var max = _info?.MaxOngoingRequests ?? 1;
        var now = Stopwatch.GetTimestamp();
        foreach (var s in _slots) if (s.Load(now) < max) return true;
        return false;
    }

    // True when every replica is full with this router's own requests: one of them finishing
    // will wake a waiter, so the wait needs no timer.
    private bool AllFullHere()
    {
        var max = _info?.MaxOngoingRequests ?? 1;
        var slots = _slots;
        if (slots.Length == 0) return false;
        foreach (var s in slots) if (Volatile.Read(ref s.InFlight) < max) return false;
        return true;
    }

    // Waits for room: woken in order as this router's requests finish or when the replicas
    // change; when timed, at the latest after a backoff of 1, 2, 4 .. 50 ms (what a refusal by a
    // replica busy with other callers' requests needs, since nothing here will signal it).
    private async Task WaitAsync(int attempt, CancellationToken cancellationToken, bool timed = true)
    {
        var waiter = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        _waiting.Enqueue(waiter);
        if (HasRoom() || _closed is not null) waiter.TrySetResult(true); // room appeared before this waiter was queued
        var delay = TimeSpan.FromMilliseconds(Math.Min(50, 1 << Math.Min(attempt, 6)));
        try
        {
            if (timed) await waiter.Task.WaitAsync(delay, cancellationToken).ConfigureAwait(false);
            else await waiter.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException) { }
        finally { waiter.TrySetResult(false); } // a later wake skips it
    }
}
