namespace Ray.Objects;

/// <summary>
/// Multiple returns: a task returning a tuple stores it whole (one result, so retries, cancel
/// and the worker's reply are those of any task); when that result completes, each item is
/// stored as an object of its own, or every item fails with the task's error. The typed
/// subclasses (one per tuple arity, generated) hold the item objects. A cancel through any
/// item's ref cancels the task (each item's producer is the task until it is split).
/// </summary>
internal abstract class ReturnSplit : IObjectListener
{
    private ObjectEntry _whole = null!;

    /// <summary>The task's name, for errors about one item.</summary>
    protected string Name => _whole.Producer?.Name ?? _whole.Id.ToString();

    protected void Start(ObjectEntry whole, Tasks.SubmittedTask? producer)
    {
        _whole = whole;
        SetProducer(producer);
        if (!whole.TryAddListener(this)) OnObjectCompleted(whole);
    }

    protected abstract void SetProducer(Tasks.SubmittedTask? producer);
    protected abstract void FailAll(Exception error);
    protected abstract void SetAll();

    public void OnObjectCompleted(ObjectEntry whole)
    {
        try
        {
            if (whole.IsFailed) FailAll(whole.Error!);
            else
            {
                try { SetAll(); }
                catch (Exception e) { FailAll(e); } // the whole value cannot be read (items already set stay)
            }
        }
        finally
        {
            SetProducer(null);
            whole.Release(); // the split's reference: the tuple is not kept once its items are
        }
    }
}
