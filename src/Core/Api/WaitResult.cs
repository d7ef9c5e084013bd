namespace Ray;

/// <summary>The result of <c>Wait</c>: ready refs and the rest, each in the order given.</summary>
public sealed class WaitResult<TRef> where TRef : ObjectRef
{
    internal WaitResult(IReadOnlyList<TRef> ready, IReadOnlyList<TRef> notReady)
    {
        Ready = ready;
        NotReady = notReady;
    }

    /// <summary>At most <c>numReturns</c> refs that are ready, in input order.</summary>
    public IReadOnlyList<TRef> Ready { get; }

    /// <summary>The other refs, in input order.</summary>
    public IReadOnlyList<TRef> NotReady { get; }

    /// <summary>Deconstructs into (ready, notReady), as Ray's <c>ready, not_ready = ray.wait(...)</c>.</summary>
    public void Deconstruct(out IReadOnlyList<TRef> ready, out IReadOnlyList<TRef> notReady)
    {
        ready = Ready;
        notReady = NotReady;
    }
}
