using Ray.Objects;

namespace Ray.Runtime;

/// <summary>Ray's <c>wait</c>: counts ready refs in input order, blocking until enough are.</summary>
internal static class Waiter
{
    internal static WaitResult<TRef> Wait<TRef>(IReadOnlyList<TRef> refs, int numReturns, TimeSpan timeout) where TRef : ObjectRef
    {
        ArgumentNullException.ThrowIfNull(refs);
        if (numReturns < 0 || numReturns > refs.Count)
            throw new ArgumentOutOfRangeException(nameof(numReturns), numReturns, $"numReturns must be between 0 and the number of refs ({refs.Count}).");
        if (refs.Count > 1)
        {
            var seen = new HashSet<ObjectId>(refs.Count);
            for (var i = 0; i < refs.Count; i++)
                if (!seen.Add((refs[i] ?? throw new ArgumentException($"refs[{i}] is null.", nameof(refs))).Id))
                    throw new ArgumentException($"Wait requires unique refs; {refs[i].Id} appears more than once.", nameof(refs));
        }

        if (CountReady(refs, numReturns) < numReturns && timeout != TimeSpan.Zero)
            BlockUntil(refs, numReturns, timeout);

        var ready = new List<TRef>(numReturns);
        var notReady = new List<TRef>(refs.Count - Math.Min(numReturns, refs.Count));
        foreach (var r in refs)
        {
            if (ready.Count < numReturns && r.IsReady) ready.Add(r);
            else notReady.Add(r);
        }
        return new WaitResult<TRef>(ready, notReady);
    }

    private static int CountReady<TRef>(IReadOnlyList<TRef> refs, int enough) where TRef : ObjectRef
    {
        var n = 0;
        for (var i = 0; i < refs.Count && n < enough; i++) if (refs[i].IsReady) n++;
        return n;
    }

    private static void BlockUntil<TRef>(IReadOnlyList<TRef> refs, int numReturns, TimeSpan timeout) where TRef : ObjectRef
    {
        var listener = new CountdownListener(numReturns);
        var registered = new List<ObjectEntry>(refs.Count);
        foreach (var r in refs)
        {
            if (r.Entry.TryAddListener(listener)) registered.Add(r.Entry);
            else listener.OnObjectCompleted(r.Entry);
        }
        try
        {
            if (!listener.Done.IsSet)
            {
                using var blocked = Workers.WorkerContext.EnterBlockedAny();
                listener.Done.Wait(timeout);
            }
        }
        finally
        {
            foreach (var e in registered) e.RemoveListener(listener);
            GC.KeepAlive(refs);
        }
    }

    private sealed class CountdownListener(int needed) : IObjectListener
    {
        private int _left = needed;
        internal ManualResetEventSlim Done { get; } = new(needed <= 0);

        public void OnObjectCompleted(ObjectEntry entry)
        {
            if (Interlocked.Decrement(ref _left) == 0) Done.Set();
        }
    }
}
