using System.Diagnostics;
using Ray.Objects;

namespace Ray.Runtime;

/// <summary>Ray's <c>wait</c>: counts ready refs in input order, blocking until enough are.</summary>
internal static class Waiter
{
    internal static WaitResult<TRef> Wait<TRef>(IReadOnlyList<TRef> refs, int numReturns, TimeSpan timeout) where TRef : ObjectRef
    {
        ArgumentNullException.ThrowIfNull(refs);
        if (refs.Count == 0) return new WaitResult<TRef>(RefList<TRef>.Empty, RefList<TRef>.Empty); // as Ray: nothing to wait for
        if (numReturns < 1 || numReturns > refs.Count)
            throw new ArgumentOutOfRangeException(nameof(numReturns), numReturns, $"numReturns must be between 1 and the number of refs ({refs.Count}).");
        // A RefList came out of an earlier Wait: its refs were checked then and cannot have changed.
        if (refs is not RefList<TRef>) ThrowIfNullOrDuplicate(refs);

        if (CountReady(refs, numReturns) < numReturns && timeout != TimeSpan.Zero && !SpinUntil(refs, numReturns, timeout))
            BlockUntil(refs, numReturns, timeout);
        return Split(refs, numReturns);
    }

    /// <summary>
    /// The first <paramref name="numReturns"/> ready refs and the rest, in input order. When the
    /// ready ones lead the list (the usual loop over results in completion order), this is two
    /// array copies and no per-entry work.
    /// </summary>
    private static WaitResult<TRef> Split<TRef>(IReadOnlyList<TRef> refs, int numReturns) where TRef : ObjectRef
    {
        var n = refs.Count;
        var all = refs is RefList<TRef> list ? list.Span : CopyOf(refs);
        var lead = 0;
        while (lead < numReturns && all[lead].IsReady) lead++;
        if (lead == numReturns)
            return new WaitResult<TRef>(Wrap(all[..lead]), Wrap(all[lead..]));

        // Fewer than numReturns may be ready when the wait timed out: size both arrays for that.
        var ready = new TRef[numReturns];
        var notReady = new TRef[n - lead];
        all[..lead].CopyTo(ready);
        int r = lead, nr = 0;
        for (var i = lead; i < n; i++)
        {
            var item = all[i];
            if (r < numReturns && item.IsReady) ready[r++] = item;
            else notReady[nr++] = item;
        }
        if (r < ready.Length) Array.Resize(ref ready, r);
        if (nr < notReady.Length) Array.Resize(ref notReady, nr);
        return new WaitResult<TRef>(new RefList<TRef>(ready), new RefList<TRef>(notReady));
    }

    private static RefList<TRef> Wrap<TRef>(ReadOnlySpan<TRef> span) where TRef : ObjectRef
        => span.IsEmpty ? RefList<TRef>.Empty : new RefList<TRef>(span.ToArray());

    private static TRef[] CopyOf<TRef>(IReadOnlyList<TRef> refs) where TRef : ObjectRef
    {
        if (refs is TRef[] array) return array;
        var copy = new TRef[refs.Count];
        if (refs is List<TRef> l) l.CopyTo(copy);
        else for (var i = 0; i < copy.Length; i++) copy[i] = refs[i];
        return copy;
    }

    private static void ThrowIfNullOrDuplicate<TRef>(IReadOnlyList<TRef> refs) where TRef : ObjectRef
    {
        if (refs.Count == 1 && refs[0] is null) throw new ArgumentException("refs[0] is null.", nameof(refs));
        if (refs.Count <= 1) return;
        var seen = new HashSet<ObjectId>(refs.Count);
        for (var i = 0; i < refs.Count; i++)
            if (!seen.Add((refs[i] ?? throw new ArgumentException($"refs[{i}] is null.", nameof(refs))).Id))
                throw new ArgumentException($"Wait requires unique refs; {refs[i].Id} appears more than once.", nameof(refs));
    }

    private static int CountReady<TRef>(IReadOnlyList<TRef> refs, int enough) where TRef : ObjectRef
    {
        var n = 0;
        for (var i = 0; i < refs.Count && n < enough; i++) if (refs[i].IsReady) n++;
        return n;
    }

    /// <summary>
    /// Spins briefly (RAY_SPIN_US, as the receive threads do) before <see cref="BlockUntil"/>:
    /// results that arrive back to back are then met without a listener per entry and a wake-up
    /// per call, which made a loop of waits over 1,000 streaming results cost ~20 ms.
    /// </summary>
    private static bool SpinUntil<TRef>(IReadOnlyList<TRef> refs, int numReturns, TimeSpan timeout) where TRef : ObjectRef
    {
        var budget = timeout == Timeout.InfiniteTimeSpan || timeout > s_spin ? s_spin : timeout;
        if (budget <= TimeSpan.Zero) return false;
        var end = Stopwatch.GetTimestamp() + (long)(budget.TotalSeconds * Stopwatch.Frequency);
        var spinner = new SpinWait();
        do
        {
            spinner.SpinOnce(sleep1Threshold: -1);
            if (CountReady(refs, numReturns) >= numReturns) return true;
        } while (Stopwatch.GetTimestamp() < end);
        return false;
    }

    private static readonly TimeSpan s_spin = Cluster.WorkerSide.WorkerHost.SpinFromEnvironment();

    private static void BlockUntil<TRef>(IReadOnlyList<TRef> refs, int numReturns, TimeSpan timeout) where TRef : ObjectRef
    {
        var listener = new CountdownListener(numReturns);
        var done = listener.Done; // made before any completion can fire
        var registered = new List<ObjectEntry>(refs.Count);
        foreach (var r in refs)
        {
            if (r.Entry.TryAddListener(listener)) registered.Add(r.Entry);
            else listener.OnObjectCompleted(r.Entry);
        }
        try
        {
            if (!done.IsSet)
            {
                using var blocked = Workers.WorkerContext.EnterBlockedAny();
                done.Wait(timeout);
            }
        }
        finally
        {
            foreach (var e in registered) e.RemoveListener(listener);
            GC.KeepAlive(refs);
        }
    }

    /// <summary>Ray's <c>wait</c> without a thread: completes when enough refs are ready, the timeout passes, or (cancelled) the token fires.</summary>
    internal static async Task<WaitResult<TRef>> WaitAsync<TRef>(IReadOnlyList<TRef> refs, int numReturns, TimeSpan timeout, CancellationToken cancel) where TRef : ObjectRef
    {
        ArgumentNullException.ThrowIfNull(refs);
        if (refs.Count == 0) return new WaitResult<TRef>(RefList<TRef>.Empty, RefList<TRef>.Empty);
        if (numReturns < 1 || numReturns > refs.Count)
            throw new ArgumentOutOfRangeException(nameof(numReturns), numReturns, $"numReturns must be between 1 and the number of refs ({refs.Count}).");
        if (refs is not RefList<TRef>) ThrowIfNullOrDuplicate(refs);
        if (CountReady(refs, numReturns) < numReturns && timeout != TimeSpan.Zero)
            await UntilAsync(refs, new CountdownListener(numReturns), timeout, cancel).ConfigureAwait(false);
        return Split(refs, numReturns);
    }

    /// <summary>Completes when every ref is ready or any one failed (a Get that fails fast), or throws when cancelled.</summary>
    internal static Task AllOrFirstFailureAsync(IReadOnlyList<ObjectRef> refs, CancellationToken cancel) =>
        UntilAsync(refs, new AllOrFailureListener(refs.Count), Timeout.InfiniteTimeSpan, cancel);

    // Registers the listener on every ref, waits for its event without a thread, unregisters.
    private static async Task UntilAsync<TRef>(IReadOnlyList<TRef> refs, SignalListener listener, TimeSpan timeout, CancellationToken cancel) where TRef : ObjectRef
    {
        var done = listener.Signal.Task; // made before any completion can fire
        var registered = new List<ObjectEntry>(refs.Count);
        foreach (var r in refs)
        {
            if (r.Entry.TryAddListener(listener)) registered.Add(r.Entry);
            else listener.OnObjectCompleted(r.Entry);
        }
        try
        {
            if (!done.IsCompleted)
            {
                if (timeout == Timeout.InfiniteTimeSpan) await done.WaitAsync(cancel).ConfigureAwait(false);
                else
                {
                    try { await done.WaitAsync(timeout, cancel).ConfigureAwait(false); }
                    catch (TimeoutException) { } // as the blocking Wait: what is ready by then
                }
            }
        }
        finally
        {
            foreach (var e in registered) e.RemoveListener(listener);
            GC.KeepAlive(refs);
        }
    }

    // Counts completions and signals once: an event for the blocking Wait, a task for the async
    // forms (each made only for the form that waits on it).
    private abstract class SignalListener : IObjectListener
    {
        private TaskCompletionSource? _signal;
        private ManualResetEventSlim? _done;
        private volatile bool _set;

        // Read each once, before the listener is registered anywhere (no completion races the creation).
        internal TaskCompletionSource Signal => _signal ??= NewSignal();
        internal ManualResetEventSlim Done => _done ??= new ManualResetEventSlim(_set);

        private TaskCompletionSource NewSignal()
        {
            var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            if (_set) tcs.TrySetResult();
            return tcs;
        }

        protected void Fire()
        {
            _set = true;
            _done?.Set();
            _signal?.TrySetResult();
        }

        public abstract void OnObjectCompleted(ObjectEntry entry);
    }

    private sealed class AllOrFailureListener(int count) : SignalListener
    {
        private int _left = count;

        public override void OnObjectCompleted(ObjectEntry entry)
        {
            if (entry.IsFailed || entry.IsFreed || Interlocked.Decrement(ref _left) == 0) Fire();
        }
    }

    private sealed class CountdownListener(int needed) : SignalListener
    {
        private int _left = needed;

        public override void OnObjectCompleted(ObjectEntry entry)
        {
            if (Interlocked.Decrement(ref _left) == 0) Fire();
        }
    }
}
