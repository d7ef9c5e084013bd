namespace Ray.Tasks;

/// <summary>
/// Receives a task's arguments one by one, typed (<see cref="SubmittedTask.VisitArguments"/>): how a
/// task submitter that runs tasks in another process writes them, without the task knowing
/// the wire format.
/// </summary>
internal interface IArgumentVisitor
{
    /// <summary>The next argument.</summary>
    void Argument<T>(in ArgSlot<T> slot);
}
